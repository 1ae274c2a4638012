/**
 * The files of a startup kit and the shape of each JSON file in it (docs/runtime.md,
 * "Provisioning"). The runtime reads kits through these names and types, never through string
 * literals of its own.
 */

/** File names inside every kit folder. */
export const KIT_FILES = {
  /** The project's root CA certificate: the only certificate a kit trusts. */
  rootCa: "rootCA.pem",
  /** The participant's certificate, issued by the root CA. */
  cert: "cert.pem",
  /** The participant's private key (PKCS #8, mode 0600): secret. */
  key: "key.pem",
  /** How to start the kit. */
  readme: "README.txt",
  /** Server kit: `ServerConfig`. */
  server: "fed_server.json",
  /** Server kit: `AuthorizationPolicy`. */
  authorization: "authorization.json",
  /** Site kit: `ClientConfig`. */
  client: "fed_client.json",
  /** Site kit: `ResourcesConfig`, a sample the site edits. */
  resources: "resources.json",
  /** Site kit: `PrivacyPolicy`, a sample the site edits. */
  privacy: "privacy.json",
  /** Site kit, optional: `NodeConfigFile`, what the site's ClientApps get as node config. */
  nodeConfig: "node-config.json",
  /** Admin kit: `AdminConfig`. */
  admin: "fed_admin.json",
} as const;

/** Where the project's CA certificate and key are kept, beside the kits and never inside one. */
export const CA_FOLDER = ".ca";

/** File names inside `CA_FOLDER`. */
export const CA_FILES = {
  cert: "rootCA.pem",
  /** The CA's private key (mode 0600): the most secret file of the project. */
  key: "rootCA.key",
} as const;

/** What a participant is. */
export type ParticipantType = "server" | "client" | "admin";

/** The roles an admin can hold, from most to least powerful. */
export const ADMIN_ROLES = ["project_admin", "org_admin", "lead", "member"] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** One participant as listed in the server's config. */
export interface ParticipantEntry {
  name: string;
  type: ParticipantType;
  org: string;
  /** Admins only. */
  role?: AdminRole;
}

/** Where sites and admins dial: the server's one port. */
export interface ServerAddress {
  /** The server's certificate CN. */
  name: string;
  host: string;
  port: number;
}

/** `fed_server.json`. */
export interface ServerConfig {
  formatVersion: 1;
  project: string;
  name: string;
  org: string;
  /** The host sites dial (also in the certificate's SANs). */
  host: string;
  /** The one port for cells and the admin API. */
  port: number;
  /** Everyone in the project, the server included; a peer whose CN is not here is refused. */
  participants: ParticipantEntry[];
}

/** `fed_client.json`. */
export interface ClientConfig {
  formatVersion: 1;
  project: string;
  name: string;
  org: string;
  server: ServerAddress;
}

/** `fed_admin.json`. */
export interface AdminConfig {
  formatVersion: 1;
  project: string;
  name: string;
  org: string;
  role: AdminRole;
  server: ServerAddress;
}

/** What a site offers to jobs (project.yml's `resources`). Sites may add keys of their own. */
export interface SiteResources {
  /** GPUs jobs may use. Default: 0. */
  gpus: number;
  /** Memory jobs may use, in GiB. Default: 8. */
  memoryGb: number;
  /** Jobs that may run at once. Default: 4. */
  maxJobs: number;
  [key: string]: unknown;
}

/** `resources.json`. */
export interface ResourcesConfig extends SiteResources {
  formatVersion: 1;
}

/** A value of a site's node config. */
export type NodeConfigValue = string | number | boolean;

/**
 * `node-config.json`: the site's own node config (a data path, anything its apps read from
 * `context.nodeConfig`), merged over the `partition-id` and `num-partitions` a bridged job
 * gives it. Optional; the site writes it, or project.yml's `nodeConfig` does.
 */
export interface NodeConfigFile {
  formatVersion: 1;
  nodeConfig: Record<string, NodeConfigValue>;
}

/** One filter of a privacy scope, by name, with its arguments. */
export interface FilterSpec {
  name: string;
  args?: Record<string, unknown>;
}

/** `privacy.json`: named scopes a job picks from; the site's filters run on every task. */
export interface PrivacyPolicy {
  formatVersion: 1;
  scopes: Record<string, { taskDataFilters: FilterSpec[]; taskResultFilters: FilterSpec[] }>;
  /** The scope of a job that names none. */
  defaultScope: string;
}
