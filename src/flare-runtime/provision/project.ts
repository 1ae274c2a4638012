import { readFile } from "node:fs/promises";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  ADMIN_ROLES,
  type AdminRole,
  type NodeConfigValue,
  type SiteResources,
} from "./kit-config.ts";

export interface ServerParticipant {
  type: "server";
  name: string;
  org: string;
  /** Default: localhost. */
  host: string;
  /** Default: 8002. */
  port: number;
}

export interface ClientParticipant {
  type: "client";
  name: string;
  org: string;
  resources: SiteResources;
  /** Written to the kit's node-config.json when given. */
  nodeConfig?: Record<string, NodeConfigValue>;
}

export interface AdminParticipant {
  type: "admin";
  /** An email address. */
  name: string;
  org: string;
  role: AdminRole;
}

export type Participant = ServerParticipant | ClientParticipant | AdminParticipant;

/** A validated project.yml. */
export interface Project {
  name: string;
  /** In the file's order. */
  participants: Participant[];
  server: ServerParticipant;
  clients: ClientParticipant[];
  admins: AdminParticipant[];
}

// Names become folder names and certificate CNs (at most 64 characters in X.509).
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const safeName = z.string().max(64).regex(SAFE_NAME, {
  error: "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
});
const org = z.string().trim().min(1);

const participantSchema = z.discriminatedUnion(
  "type",
  [
    z.looseObject({
      type: z.literal("server"),
      name: safeName,
      org,
      host: z
        .string()
        .regex(/^[^\s/]+$/, { error: "must be a host name or an IP address" })
        .default("localhost"),
      port: z.int().min(1).max(65535).default(8002),
    }),
    z.looseObject({
      type: z.literal("client"),
      name: safeName,
      org,
      resources: z
        .looseObject({
          gpus: z.int().min(0).default(0),
          memoryGb: z.number().positive().default(8),
          maxJobs: z.int().min(1).default(4),
        })
        .prefault({}),
      nodeConfig: z
        .record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))
        .optional(),
    }),
    z.looseObject({
      type: z.literal("admin"),
      name: z
        .string()
        .max(64)
        .regex(EMAIL, { error: "must be an email address (admins are named by email)" }),
      org,
      role: z.enum(ADMIN_ROLES, {
        error: (issue) =>
          issue.input === undefined ? "is required" : `must be one of ${ADMIN_ROLES.join(", ")}`,
      }),
    }),
  ],
  {
    error: (issue) =>
      issue.input === undefined ? "is required" : "must be server, client or admin",
  },
);

const projectSchema = z.looseObject({
  name: safeName,
  participants: z.array(participantSchema).min(1, { error: "must list at least a server" }),
});

/** Reads and validates a project.yml; every error names the file, the participant and the field. */
export async function loadProject(path: string): Promise<Project> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "no such file"
        : (error as Error).message;
    throw new FedbridgeError(Code.InvalidArgument, `${path}: cannot read (${reason})`, {
      cause: error,
    });
  }
  return parseProject(text, path);
}

/** Validates project.yml text; `file` only names it in errors. */
export function parseProject(text: string, file = "project.yml"): Project {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    const message =
      error instanceof YAMLParseError
        ? (error.message.split("\n")[0] ?? "").replace(/:$/, "")
        : String(error);
    throw new FedbridgeError(Code.InvalidArgument, `${file}: not valid YAML: ${message}`, {
      cause: error,
    });
  }
  if (data === null || data === undefined)
    throw new FedbridgeError(Code.InvalidArgument, `${file}: is empty`);
  const parsed = projectSchema.safeParse(data, {
    error: (issue) => (issue.input === undefined ? "is required" : undefined),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describe(issue, data));
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : "";
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${file}: ${problems.slice(0, 3).join("; ")}${more}`,
    );
  }
  const participants = parsed.data.participants as Participant[];
  const fail = (message: string) => new FedbridgeError(Code.InvalidArgument, `${file}: ${message}`);
  const seen = new Map<string, string>();
  for (const p of participants) {
    // Case-insensitively: kit folders must not collide on macOS or Windows.
    const earlier = seen.get(p.name.toLowerCase());
    if (earlier !== undefined)
      throw fail(`participant '${p.name}': name already used by '${earlier}'`);
    seen.set(p.name.toLowerCase(), p.name);
  }
  const servers = participants.filter((p) => p.type === "server");
  if (servers.length !== 1) {
    const names = servers.map((s) => `'${s.name}'`).join(", ");
    throw fail(
      `exactly one participant of type server is needed, found ${servers.length}${names ? ` (${names})` : ""}`,
    );
  }
  return {
    name: parsed.data.name,
    participants,
    server: servers[0] as ServerParticipant,
    clients: participants.filter((p) => p.type === "client"),
    admins: participants.filter((p) => p.type === "admin"),
  };
}

/** `participants[2] 'site-2': org is required`. */
function describe(issue: z.core.$ZodIssue, data: unknown): string {
  const path = [...issue.path];
  let where = "";
  if (path[0] === "participants" && typeof path[1] === "number") {
    const entry = (data as { participants: unknown[] }).participants[path[1]];
    const name = (entry as { name?: unknown } | null)?.name;
    where = `participants[${path[1]}]${typeof name === "string" ? ` '${name}'` : ""}: `;
    path.splice(0, 2);
  }
  const field = path.map(String).join(".");
  const message = issue.message
    .replace(/^Invalid input: /, "")
    .replace(/^[A-Z]/, (c) => c.toLowerCase());
  return `${where}${field ? `${field} ` : ""}${message}`;
}
