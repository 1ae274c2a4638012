import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  assertTransition,
  canTransition,
  isFinished,
  isJobStatus,
  JOB_STATUSES,
  type JobStatus,
} from "./job-status.ts";

describe("job status", () => {
  it("allows exactly the documented moves", () => {
    const legal = JOB_STATUSES.flatMap((from) =>
      JOB_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from} → ${to}`),
    );
    expect(legal).toEqual([
      "SUBMITTED → RUNNING",
      "SUBMITTED → FINISHED:ABORTED",
      "SUBMITTED → FINISHED:CAN_NOT_SCHEDULE",
      "RUNNING → FINISHED:COMPLETED",
      "RUNNING → FINISHED:ABORTED",
      "RUNNING → FINISHED:FAILED",
    ]);
  });

  it("names the job and both statuses when a move is illegal", () => {
    const from: JobStatus = "FINISHED:ABORTED";
    let error: unknown;
    try {
      assertTransition("j1", from, "FINISHED:COMPLETED");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FedbridgeError);
    expect((error as FedbridgeError).code).toBe(Code.FailedPrecondition);
    expect((error as Error).message).toBe(
      "job j1 cannot go from FINISHED:ABORTED to FINISHED:COMPLETED: a finished job is final",
    );
  });

  it("tells statuses and finished ones apart", () => {
    expect(isJobStatus("FINISHED:FAILED")).toBe(true);
    expect(isJobStatus("DONE")).toBe(false);
    expect(JOB_STATUSES.filter(isFinished)).toHaveLength(4);
  });
});
