import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseOrRefuse } from "../../core/parse-or-refuse.ts";
import type { AuthorizationPolicy } from "./authorization-policy.ts";
import {
  ADMIN_ROLES,
  type AdminConfig,
  type ClientConfig,
  KIT_FILES,
  type NodeConfigFile,
  type NodeConfigValue,
  type PrivacyPolicy,
  type ResourcesConfig,
  type ServerConfig,
} from "./kit-config.ts";

/** A kit read from disk: its PEM text and its configs, by kind. */
export type LoadedStartupKit = {
  /** The kit folder, absolute. */
  dir: string;
  rootCaPem: string;
  certPem: string;
  keyPem: string;
} & (
  | { type: "server"; config: ServerConfig; authorization: AuthorizationPolicy }
  | {
      type: "client";
      config: ClientConfig;
      resources: ResourcesConfig;
      privacy: PrivacyPolicy;
      /** node-config.json's `nodeConfig`; empty when the kit has none. */
      nodeConfig: Record<string, NodeConfigValue>;
    }
  | { type: "admin"; config: AdminConfig }
);

const version = z.literal(1);
const address = z.object({ name: z.string(), host: z.string(), port: z.int() });
const identity = { formatVersion: version, project: z.string(), name: z.string(), org: z.string() };
const schemas = {
  server: z.looseObject({
    ...identity,
    host: z.string(),
    port: z.int(),
    participants: z.array(
      z.object({
        name: z.string(),
        type: z.enum(["server", "client", "admin"]),
        org: z.string(),
        role: z.enum(ADMIN_ROLES).optional(),
      }),
    ),
  }),
  client: z.looseObject({ ...identity, server: address }),
  admin: z.looseObject({ ...identity, role: z.enum(ADMIN_ROLES), server: address }),
  authorization: z.looseObject({
    formatVersion: version,
    permissions: z.record(z.string(), z.unknown()),
  }),
  resources: z.looseObject({
    formatVersion: version,
    gpus: z.number(),
    memoryGb: z.number(),
    maxJobs: z.int(),
  }),
  privacy: z.looseObject({
    formatVersion: version,
    scopes: z.record(
      z.string(),
      z.object({ taskDataFilters: z.array(z.unknown()), taskResultFilters: z.array(z.unknown()) }),
    ),
    defaultScope: z.string(),
  }),
  nodeConfig: z.strictObject({
    formatVersion: version,
    nodeConfig: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])),
  }),
};

/**
 * Reads the kit in `dir`: which kind it is follows from its config file (fed_server.json,
 * fed_client.json or fed_admin.json). Errors name the file and the field.
 */
export async function readStartupKit(kitDir: string): Promise<LoadedStartupKit> {
  const dir = resolve(kitDir);
  const text = (name: string) =>
    readFile(join(dir, name), "utf8").catch((error: NodeJS.ErrnoException) => {
      const reason = error.code === "ENOENT" ? "missing" : error.message;
      throw new FedbridgeError(Code.InvalidArgument, `startup kit ${dir}: ${name} ${reason}`, {
        cause: error,
      });
    });
  const exists = (name: string) =>
    stat(join(dir, name)).then(
      () => true,
      () => false,
    );
  const [isServer, isClient, isAdmin] = await Promise.all(
    [KIT_FILES.server, KIT_FILES.client, KIT_FILES.admin].map(exists),
  );
  if (Number(isServer) + Number(isClient) + Number(isAdmin) !== 1) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${dir} is not a startup kit: it needs exactly one of ${KIT_FILES.server}, ${KIT_FILES.client}, ${KIT_FILES.admin}`,
    );
  }
  const json = async <T>(name: string, schema: z.ZodType): Promise<T> => {
    const raw = await text(name);
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (error) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${join(dir, name)}: ${(error as Error).message}`,
      );
    }
    return parseOrRefuse(schema, data, join(dir, name)) as T;
  };
  const [rootCaPem, certPem, keyPem] = await Promise.all(
    [KIT_FILES.rootCa, KIT_FILES.cert, KIT_FILES.key].map(text),
  );
  const pems = {
    dir,
    rootCaPem: rootCaPem as string,
    certPem: certPem as string,
    keyPem: keyPem as string,
  };
  if (isServer) {
    return {
      ...pems,
      type: "server",
      config: await json<ServerConfig>(KIT_FILES.server, schemas.server),
      authorization: await json<AuthorizationPolicy>(
        KIT_FILES.authorization,
        schemas.authorization,
      ),
    };
  }
  if (isClient) {
    return {
      ...pems,
      type: "client",
      config: await json<ClientConfig>(KIT_FILES.client, schemas.client),
      resources: await json<ResourcesConfig>(KIT_FILES.resources, schemas.resources),
      privacy: await json<PrivacyPolicy>(KIT_FILES.privacy, schemas.privacy),
      nodeConfig: (await exists(KIT_FILES.nodeConfig))
        ? (await json<NodeConfigFile>(KIT_FILES.nodeConfig, schemas.nodeConfig)).nodeConfig
        : {},
    };
  }
  return {
    ...pems,
    type: "admin",
    config: await json<AdminConfig>(KIT_FILES.admin, schemas.admin),
  };
}
