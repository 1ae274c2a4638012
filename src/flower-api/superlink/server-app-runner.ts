import { AsyncLocalStorage } from "node:async_hooks";
import { create } from "@bufbuild/protobuf";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { createContext } from "../app/context.ts";
import { importApp } from "../app/load-app.ts";
import { Replay } from "../app/replay.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { ServerApp } from "../app/server-app.ts";
import { failureToProto, resultToProto } from "../control/run-result-proto.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { metricRecordToProto } from "../records/serde.ts";
import { DeploymentGrid } from "./deployment-grid.ts";
import type { MessageRouter } from "./message-router.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunJournal } from "./run-journal.ts";
import type { RunRecord, RunRegistry } from "./run-registry.ts";

/** The run whose ServerApp code is executing, for work that must know it (its tracking). */
const currentRun = new AsyncLocalStorage<RunRecord>();

/** The run of the ServerApp code calling this, if any. */
export function runOfCaller(): RunRecord | undefined {
  return currentRun.getStore();
}

/** Whether the run's ServerApp is being answered from its journal (its events are known). */
const replaying = new WeakMap<RunRecord, () => boolean>();

/** Whether the run's ServerApp is replaying: what it does now was reported before the restart. */
export function isReplaying(run: RunRecord): boolean {
  return replaying.get(run)?.() ?? false;
}

/**
 * Runs a run's ServerApp inside the SuperLink, from its unpacked bundle, and turns its
 * progress into the run's events. Ends the run as completed, failed or (if stopped meanwhile)
 * stopped, and frees its messages and objects. With a journal, the ServerApp's replies are
 * recorded; a journal that already holds some (a resumed run) answers the ServerApp until it
 * goes past them, and the events it makes meanwhile are dropped: they were sent before.
 */
export async function runServerApp(
  run: RunRecord,
  serverappUrl: string,
  state: { runs: RunRegistry; router: MessageRouter; nodes: NodeRegistry },
  journal?: RunJournal,
): Promise<void> {
  const { runs, router, nodes } = state;
  const replay = journal === undefined ? undefined : new Replay(journal.entries());
  replaying.set(run, () => replay?.replaying ?? false);
  const emit = (event: Parameters<typeof create<typeof RunEventSchema>>[1]) => {
    if (!isReplaying(run) || event?.event?.case === "runFinished")
      runs.emit(run, create(RunEventSchema, event));
  };
  const observer: RunObserver = {
    roundStarted: (round, numRounds) =>
      emit({ event: { case: "roundStarted", value: { round, numRounds } } }),
    roundFinished: (s) =>
      emit({
        event: {
          case: "roundFinished",
          value: {
            round: s.round,
            numRounds: s.numRounds,
            ...(s.train ? { train: metricRecordToProto(s.train) } : {}),
            ...(s.evaluate ? { evaluate: metricRecordToProto(s.evaluate) } : {}),
            ...(s.serverEvaluate ? { serverEvaluate: metricRecordToProto(s.serverEvaluate) } : {}),
            trainFailures: s.failures.train,
            evaluateFailures: s.failures.evaluate,
            errors: s.errors.map(failureToProto),
            nodes: s.nodes.map((n) => ({
              nodeId: n.nodeId,
              phase: n.phase,
              metrics: metricRecordToProto(n.metrics),
            })),
          },
        },
      }),
    log: (line) => emit({ event: { case: "log", value: line } }),
    waiting: (message) => emit({ event: { case: "waiting", value: message } }),
  };
  try {
    const app = await importApp(serverappUrl, ServerApp, "serverapp");
    const grid = new DeploymentGrid(
      { runId: run.runId, runConfig: run.runConfig },
      observer,
      router,
      nodes,
      run.abort.signal,
      ...(journal && replay ? [{ store: journal, replay }] : []),
    );
    const context = createContext({
      runId: run.runId,
      nodeId: SERVER_NODE_ID,
      runConfig: run.runConfig,
    });
    const result = await currentRun.run(run, () => app.run(grid, context));
    replay?.finish();
    if (run.status === "running") {
      emit({
        event: {
          case: "runFinished",
          value: { status: "completed", ...(result ? { result: resultToProto(result) } : {}) },
        },
      });
      runs.finish(run, "completed");
    }
  } catch (error) {
    if (run.status === "running") {
      const details = `ServerApp failed: ${FedbridgeError.from(error).message}`;
      emit({ event: { case: "runFinished", value: { status: "failed", details } } });
      runs.finish(run, "failed", details);
    }
  } finally {
    router.dropRun(run.runId);
  }
}
