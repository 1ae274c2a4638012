// fedbridge runtime, jobs: the server parent's bookkeeping (meta.json, job store, scheduler,
// authorization, audit log, bundle signatures). Processes and services are wired elsewhere.
export type { AuditEntry, AuditLogOptions, AuditOutcome } from "./audit-log.ts";
export { AuditLog, MAX_ARGS_CHARS, readAuditLog } from "./audit-log.ts";
export type { AdminUser, AuthorizeOptions, Decision, JobOwner } from "./authz.ts";
export { authorize, COMMAND_RIGHTS } from "./authz.ts";
export type { CheckedJobBundle, JobBundleOptions, SignedJobBundle } from "./job-bundle.ts";
export {
  DEFAULT_MAX_JOB_BUNDLE_BYTES,
  inspectJobBundle,
  JOB_BUNDLE_LABEL,
  packJob,
  unpackJobBundle,
} from "./job-bundle.ts";
export type { JobMeta, JsonValue, ResourceNeeds } from "./job-meta.ts";
export { ALL_SITES, JOB_META_FILE, parseJobMeta, readJobMeta } from "./job-meta.ts";
export type { Checkpoint, JobFilter, JobRecord, NewJob, Submitter } from "./job-record.ts";
export type { BundleSigner, VerifyBundleOptions } from "./job-signature.ts";
export { signBundle, verifyBundle } from "./job-signature.ts";
export type { FinishedStatus, JobStatus } from "./job-status.ts";
export {
  assertTransition,
  canTransition,
  isFinished,
  isJobStatus,
  JOB_STATUSES,
} from "./job-status.ts";
export type { JobStoreOptions } from "./job-store.ts";
export { JobStore } from "./job-store.ts";
export type {
  RunningJob,
  ScheduleResult,
  SiteAssignment,
  SiteCapacity,
  SiteState,
} from "./scheduler.ts";
export { needsAt, schedule } from "./scheduler.ts";
export type { SchedulerClock, SchedulerLoopOptions, WaitingJob } from "./scheduler-loop.ts";
export { SchedulerLoop } from "./scheduler-loop.ts";
