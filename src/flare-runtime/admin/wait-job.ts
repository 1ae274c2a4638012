import { setTimeout as sleep } from "node:timers/promises";
import { Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { backoffDelay } from "../../core/backoff.ts";
import type { JobInfo } from "../../gen/fedbridge/v1/admin_pb.ts";
import type { AdminSession } from "./admin-client.ts";

export interface WaitJobOptions {
  /** Give up after this many seconds; 0 waits for as long as it takes. Default: 0. */
  timeoutSeconds?: number;
  /** Each change of the job's status, round or reason. */
  onUpdate: (job: JobInfo) => void;
  /** The server cannot be reached (it restarts, say): the wait goes on; `reason` says why. */
  onUnreachable?: (reason: string) => void;
}

/**
 * Connect codes that mean the server is away for now (its connection reset or cancelled by
 * a restart), not that the wait is wrong.
 */
const TRANSIENT = new Set([
  ConnectCode.Unavailable,
  ConnectCode.Canceled,
  ConnectCode.Internal,
  ConnectCode.Unknown,
]);

/**
 * Follows a job until it ends or the timeout passes, as `admin wait` does: through a server
 * restart too, reconnecting with backoff (a job that survives the restart is still followed).
 * Resolves with the last state seen; undefined if the server never answered.
 */
export async function waitForJob(
  session: AdminSession,
  id: string,
  options: WaitJobOptions,
): Promise<JobInfo | undefined> {
  const seconds = options.timeoutSeconds ?? 0;
  const deadline = seconds > 0 ? Date.now() + seconds * 1000 : Number.POSITIVE_INFINITY;
  let last: JobInfo | undefined;
  for (let attempt = 0; ; ) {
    const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    try {
      const timeout = Number.isFinite(deadline) ? left : 0;
      for await (const job of session.client.waitJob({ id, timeout })) {
        attempt = 0;
        if (last?.status !== job.status || last.round !== job.round || last.reason !== job.reason)
          options.onUpdate(job);
        last = job;
      }
      return last;
    } catch (error) {
      const failure = ConnectError.from(error);
      if (!TRANSIENT.has(failure.code) || Date.now() >= deadline) throw error;
      options.onUnreachable?.(failure.rawMessage);
      await sleep(Math.min(backoffDelay(attempt++, { maxMs: 5_000 }), deadline - Date.now()));
    }
  }
}
