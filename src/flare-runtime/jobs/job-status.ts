import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** Every status a job can have, in the spelling the admin CLI prints (docs: CLI.md). */
export const JOB_STATUSES = [
  "SUBMITTED",
  "RUNNING",
  "FINISHED:COMPLETED",
  "FINISHED:ABORTED",
  "FINISHED:FAILED",
  "FINISHED:CAN_NOT_SCHEDULE",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type FinishedStatus = Extract<JobStatus, `FINISHED:${string}`>;

/**
 * The legal moves. A submitted job either starts, is aborted before it starts, or is given up
 * on by the scheduler; a running job can only finish, and a finished job is final, so a late
 * "completed" from a job process cannot overwrite an abort.
 */
const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  SUBMITTED: ["RUNNING", "FINISHED:ABORTED", "FINISHED:CAN_NOT_SCHEDULE"],
  RUNNING: ["FINISHED:COMPLETED", "FINISHED:ABORTED", "FINISHED:FAILED"],
  "FINISHED:COMPLETED": [],
  "FINISHED:ABORTED": [],
  "FINISHED:FAILED": [],
  "FINISHED:CAN_NOT_SCHEDULE": [],
};

export function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

export function isFinished(status: JobStatus): status is FinishedStatus {
  return status.startsWith("FINISHED:");
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return NEXT[from].includes(to);
}

/** Throws FailedPrecondition, naming the job and both statuses, unless `from → to` is legal. */
export function assertTransition(jobId: string, from: JobStatus, to: JobStatus): void {
  if (canTransition(from, to)) return;
  const why = isFinished(from)
    ? "a finished job is final"
    : `from ${from} a job can only become ${NEXT[from].join(", ")}`;
  throw new FedbridgeError(
    Code.FailedPrecondition,
    `job ${jobId} cannot go from ${from} to ${to}: ${why}`,
  );
}
