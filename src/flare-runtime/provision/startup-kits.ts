import { type CertificateAuthority, issueCertificate } from "../../core/security/certificates.ts";
import { defaultAuthorizationPolicy } from "./authorization-policy.ts";
import {
  type AdminConfig,
  type ClientConfig,
  KIT_FILES,
  type ParticipantEntry,
  type ParticipantType,
  type PrivacyPolicy,
  type ResourcesConfig,
  type ServerAddress,
  type ServerConfig,
} from "./kit-config.ts";
import { kitReadme } from "./kit-readme.ts";
import type { Participant, Project } from "./project.ts";

/** One file of a kit, in memory until it is written. */
export interface KitFile {
  /** A name inside the kit folder (`KIT_FILES`). */
  name: string;
  content: string;
  /** Private keys: written with mode 0600. */
  secret: boolean;
}

/** One participant's startup kit, in memory. */
export interface StartupKit {
  name: string;
  type: ParticipantType;
  files: KitFile[];
}

/**
 * Every participant's kit, with a fresh certificate and key issued by `ca`. Nothing is written:
 * whatever fails here fails before the workspace is touched.
 */
export async function buildStartupKits(
  project: Project,
  ca: CertificateAuthority,
): Promise<StartupKit[]> {
  const { server } = project;
  const address: ServerAddress = { name: server.name, host: server.host, port: server.port };
  return Promise.all(
    project.participants.map(async (p) => {
      const { certPem, keyPem } = await issueCertificate(ca, {
        commonName: p.name,
        organization: p.org,
        organizationalUnit: p.type === "admin" ? p.role : p.type,
        // The server also dials as a client (its job processes reach its parent over mTLS).
        usage: p.type === "server" ? "both" : "client",
        ...(p.type === "server"
          ? { altNames: [...new Set([p.host, "localhost", "127.0.0.1"])] }
          : {}),
      });
      const files: KitFile[] = [
        file(KIT_FILES.rootCa, ca.certPem),
        file(KIT_FILES.cert, certPem),
        { name: KIT_FILES.key, content: keyPem, secret: true },
        ...configFiles(project, p, address),
        file(KIT_FILES.readme, kitReadme(project.name, p)),
      ];
      return { name: p.name, type: p.type, files };
    }),
  );
}

function configFiles(project: Project, p: Participant, server: ServerAddress): KitFile[] {
  const common = { formatVersion: 1 as const, project: project.name, name: p.name, org: p.org };
  switch (p.type) {
    case "server": {
      const config: ServerConfig = {
        ...common,
        host: p.host,
        port: p.port,
        participants: project.participants.map(entry),
      };
      return [
        json(KIT_FILES.server, config),
        json(KIT_FILES.authorization, defaultAuthorizationPolicy()),
      ];
    }
    case "client": {
      const config: ClientConfig = { ...common, server };
      return [
        json(KIT_FILES.client, config),
        json(KIT_FILES.resources, { formatVersion: 1, ...p.resources } satisfies ResourcesConfig),
        json(KIT_FILES.privacy, samplePrivacyPolicy()),
        ...(p.nodeConfig
          ? [json(KIT_FILES.nodeConfig, { formatVersion: 1, nodeConfig: p.nodeConfig })]
          : []),
      ];
    }
    case "admin": {
      const config: AdminConfig = { ...common, role: p.role, server };
      return [json(KIT_FILES.admin, config)];
    }
  }
}

function entry(p: Participant): ParticipantEntry {
  return {
    name: p.name,
    type: p.type,
    org: p.org,
    ...(p.type === "admin" ? { role: p.role } : {}),
  };
}

/** Two scopes: `public` sends results as they are; `private` drops the arrays a site lists. */
function samplePrivacyPolicy(): PrivacyPolicy {
  return {
    formatVersion: 1,
    scopes: {
      public: { taskDataFilters: [], taskResultFilters: [] },
      private: {
        taskDataFilters: [],
        taskResultFilters: [{ name: "ExcludeVars", args: { exclude: [] } }],
      },
    },
    defaultScope: "public",
  };
}

function file(name: string, content: string): KitFile {
  return { name, content, secret: false };
}

function json(name: string, value: unknown): KitFile {
  return file(name, `${JSON.stringify(value, null, 2)}\n`);
}
