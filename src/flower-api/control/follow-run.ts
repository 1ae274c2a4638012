import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { backoffDelay } from "../../core/backoff.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { GrpcClient } from "../../core/wire/grpc-client.ts";
import { Control, type RunEvent, type RunFinished } from "../../gen/fedbridge/v1/control_pb.ts";
import { type RunObserver, silentObserver } from "../app/run-observer.ts";
import { metricRecordFromProto } from "../records/serde.ts";
import type { Result } from "../strategy/result.ts";
import { FinalModelAssembler } from "./final-model-stream.ts";
import { failureFromProto, resultFromProto } from "./run-result-proto.ts";

export interface FollowRunOptions {
  /** The SuperLink's control API, host:port. */
  address: string;
  credentials: ChannelCredentials;
  runId: bigint;
  observer?: RunObserver;
  /** Receives the tracking events the run's nodes send (an app's SummaryWriter). */
  tracking?: (nodeId: bigint, events: object[]) => void;
  /** Aborting ends the follow (the caller stops the run if it wants to). */
  signal?: AbortSignal;
  /** How long to wait for a SuperLink that went away to come back, in s. Default: 300. */
  reconnectTimeout?: number;
}

/** Stream failures that mean "the SuperLink went away", worth waiting out. */
const LOST = new Set([Code.Unavailable, Code.Internal, Code.Canceled, Code.DeadlineExceeded]);
const BACKOFF = { initialMs: 250, maxMs: 5_000 };
/** How often a wait for the SuperLink says again what it waits for, in ms. */
const SAY_AGAIN_MS = 10_000;

/**
 * Follows a run on a SuperLink to its end, reporting each event to `observer`. When the
 * SuperLink goes away (restarted, killed), waits for it to come back, saying so, and carries
 * on where it was: a SuperLink on its database keeps the run's events, so the ones seen
 * already are skipped. Resolves with the ServerApp's Result; a failed or stopped run rejects
 * with the SuperLink's reason, and so does a SuperLink that came back without the run.
 */
export async function followRun(
  options: FollowRunOptions,
): Promise<{ runId: bigint; result: Result | undefined }> {
  const { address, runId } = options;
  const observer = options.observer ?? silentObserver;
  const reconnectMs = (options.reconnectTimeout ?? 300) * 1000;
  let seen = 0;
  let lostAt: number | undefined;
  let saidAt = 0;
  for (let attempt = 0; ; attempt++) {
    const client = new GrpcClient(Control, address, options.credentials);
    let finished: RunFinished | undefined;
    const model = new FinalModelAssembler();
    try {
      let index = 0;
      for await (const { event } of client.serverStream(Control.method.streamRun, { runId })) {
        // The final model's pieces belong to runFinished, sent again with it after a reconnect.
        if (event.case === "finalArrayBytes") {
          model.add(event.value);
          continue;
        }
        if (index++ < seen) continue;
        seen++;
        lostAt = undefined;
        saidAt = 0;
        attempt = 0;
        if (event.case === "runFinished") {
          finished = model.complete(event.value);
          break;
        }
        report({ event } as RunEvent, observer, options.tracking);
      }
      if (finished === undefined)
        throw new FedbridgeError(
          Code.Unavailable,
          `the SuperLink closed run ${runId}'s event stream before it finished`,
        );
    } catch (error) {
      const failure = FedbridgeError.from(error);
      if (options.signal?.aborted) throw failure;
      if (failure.code === Code.NotFound && (seen > 0 || lostAt !== undefined))
        throw new FedbridgeError(
          Code.NotFound,
          `the SuperLink at ${address} came back without run ${runId}: it was restarted without --database, so its runs were lost`,
        );
      if (!LOST.has(failure.code)) throw failure;
      lostAt ??= Date.now();
      if (Date.now() - lostAt > reconnectMs)
        throw new FedbridgeError(
          Code.Unavailable,
          `lost the SuperLink at ${address} while following run ${runId}, and it did not come back within ${reconnectMs / 1000} s: ${failure.message}`,
        );
      if (Date.now() - saidAt >= SAY_AGAIN_MS) {
        saidAt = Date.now();
        observer.waiting?.(
          `lost the SuperLink at ${address} (${failure.message}); waiting up to ${reconnectMs / 1000} s for it to come back to follow run ${runId} (a SuperLink restarted on its --database resumes it)`,
        );
      }
      await sleep(backoffDelay(attempt, BACKOFF), undefined, {
        signal: options.signal,
      }).catch(() => {});
      continue;
    } finally {
      client.close();
    }
    const { status, details, result } = finished as RunFinished;
    if (status !== "completed")
      throw new FedbridgeError(
        status === "stopped" ? Code.Aborted : Code.Unknown,
        `run ${runId} ${status}: ${details}`,
      );
    return { runId, result: result ? resultFromProto(result) : undefined };
  }
}

/** One run event (not its end) told to the observer or the tracking callback. */
function report(
  { event }: RunEvent,
  observer: RunObserver,
  tracking: FollowRunOptions["tracking"],
): void {
  switch (event.case) {
    case "roundStarted":
      observer.roundStarted(event.value.round, event.value.numRounds);
      break;
    case "roundFinished": {
      const e = event.value;
      observer.roundFinished({
        round: e.round,
        numRounds: e.numRounds,
        ...(e.train ? { train: metricRecordFromProto(e.train) } : {}),
        ...(e.evaluate ? { evaluate: metricRecordFromProto(e.evaluate) } : {}),
        ...(e.serverEvaluate ? { serverEvaluate: metricRecordFromProto(e.serverEvaluate) } : {}),
        failures: { train: e.trainFailures, evaluate: e.evaluateFailures },
        errors: e.errors.map(failureFromProto),
        nodes: e.nodes.flatMap((n) =>
          n.metrics && (n.phase === "train" || n.phase === "evaluate")
            ? [{ nodeId: n.nodeId, phase: n.phase, metrics: metricRecordFromProto(n.metrics) }]
            : [],
        ),
      });
      break;
    }
    case "log":
      observer.log(event.value);
      break;
    case "waiting":
      observer.waiting?.(event.value);
      break;
    case "tracking": {
      const events = JSON.parse(event.value.eventsJson) as unknown;
      if (Array.isArray(events)) tracking?.(event.value.nodeId, events as object[]);
      break;
    }
  }
}
