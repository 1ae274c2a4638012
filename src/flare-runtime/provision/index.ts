// fedbridge runtime, provisioning: project.yml in, one startup kit per participant out.
export type { AuthorizationPolicy, Condition, Right } from "./authorization-policy.ts";
export { defaultAuthorizationPolicy, RIGHTS } from "./authorization-policy.ts";
export type {
  AdminConfig,
  AdminRole,
  ClientConfig,
  FilterSpec,
  ParticipantEntry,
  ParticipantType,
  PrivacyPolicy,
  ResourcesConfig,
  ServerAddress,
  ServerConfig,
  SiteResources,
} from "./kit-config.ts";
export { ADMIN_ROLES, CA_FILES, CA_FOLDER, KIT_FILES } from "./kit-config.ts";
export type { LocalParticipant } from "./local-project.ts";
export { localProjectYml } from "./local-project.ts";
export type {
  AdminParticipant,
  ClientParticipant,
  Participant,
  Project,
  ServerParticipant,
} from "./project.ts";
export { loadProject, parseProject } from "./project.ts";
export type { ProvisionedKit, ProvisionOptions, ProvisionResult } from "./provision.ts";
export { provisionProject } from "./provision.ts";
export type { LoadedStartupKit } from "./read-startup-kit.ts";
export { readStartupKit } from "./read-startup-kit.ts";
export type { KitFile, StartupKit } from "./startup-kits.ts";
export { buildStartupKits } from "./startup-kits.ts";
