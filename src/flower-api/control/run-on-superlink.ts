import type { ChannelCredentials } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { GrpcClient } from "../../core/wire/grpc-client.ts";
import { Control } from "../../gen/fedbridge/v1/control_pb.ts";
import type { UserConfig } from "../app/context.ts";
import { checkRunConfig } from "../app/run-config.ts";
import { type RunObserver, silentObserver } from "../app/run-observer.ts";
import { configToScalars } from "../app/scalars.ts";
import { packApp } from "../fab/app-bundle.ts";
import { findPythonServerApp, hasTypeScriptApp, packPythonApp } from "../fab/python-app.ts";
import { metricRecordFromProto } from "../records/serde.ts";
import type { Result } from "../strategy/result.ts";
import { failureFromProto, resultFromProto } from "./run-result-proto.ts";

export interface RunOnSuperLinkOptions {
  /** The SuperLink's control API, host:port. */
  address: string;
  credentials: ChannelCredentials;
  appDir: string;
  /** Overrides of the app's config, including `seed`; checked by `checkRunConfig` first. */
  runConfig?: UserConfig;
  /** How errors about `runConfig` name it, e.g. `--run-config`. Default: `run config`. */
  runConfigLabel?: string;
  observer?: RunObserver;
  /** Aborting stops the run on the SuperLink; the promise then rejects with ABORTED. */
  signal?: AbortSignal;
  /**
   * Run the app's Python ServerApp (its pyproject.toml's, with Flower at the SuperLink) even
   * when it has a TypeScript one. Default: false (an app without a TypeScript one runs its
   * Python one anyway).
   */
  pythonServerApp?: boolean;
  /** Called with the run's id once the SuperLink has started it. */
  onStarted?: (runId: bigint) => void;
  /** Receives the tracking events the run's nodes send (an app's SummaryWriter). */
  tracking?: (nodeId: bigint, events: object[]) => void;
}

/**
 * Packs an app, starts it as a run on a SuperLink and follows it to the end, reporting each
 * round to `observer`. Resolves with the ServerApp's Result (if it returned one); a failed or
 * stopped run rejects with the SuperLink's reason.
 */
export async function runOnSuperLink(
  options: RunOnSuperLinkOptions,
): Promise<{ runId: bigint; result: Result | undefined }> {
  const observer = options.observer ?? silentObserver;
  // A Python Flower app (pyproject.toml, no TypeScript ServerApp): the SuperLink checks its config.
  const python = await isPythonOnlyApp(options.appDir);
  let bundle: { bytes: Uint8Array; sha256: string };
  if (python) bundle = await packPythonApp(options.appDir);
  else {
    const app = await packApp(options.appDir);
    // A Python ServerApp's config is its pyproject.toml's: the SuperLink checks it.
    if (!options.pythonServerApp)
      checkRunConfig(app.manifest, options.runConfig ?? {}, options.runConfigLabel);
    bundle = app;
  }
  const client = new GrpcClient(Control, options.address, options.credentials);
  try {
    const { runId } = await client.unary(Control.method.startRun, {
      appBundle: bundle.bytes,
      appBundleSha256: bundle.sha256,
      runConfig: configToScalars(options.runConfig ?? {}),
      pythonServerapp: options.pythonServerApp ?? false,
    });
    options.onStarted?.(runId);
    const stop = () => void client.unary(Control.method.stopRun, { runId }).catch(() => {});
    // Aborted while StartRun was on its way: the run exists now, so stop it at once.
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
    for await (const { event } of client.serverStream(Control.method.streamRun, { runId })) {
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
            ...(e.serverEvaluate
              ? { serverEvaluate: metricRecordFromProto(e.serverEvaluate) }
              : {}),
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
          if (Array.isArray(events)) options.tracking?.(event.value.nodeId, events as object[]);
          break;
        }
        case "runFinished": {
          const { status, details, result } = event.value;
          if (status !== "completed")
            throw new FedbridgeError(
              status === "stopped" ? Code.Aborted : Code.Unknown,
              `run ${runId} ${status}: ${details}`,
            );
          return { runId, result: result ? resultFromProto(result) : undefined };
        }
      }
    }
    throw new FedbridgeError(
      Code.Unavailable,
      `the SuperLink closed run ${runId}'s event stream before it finished`,
    );
  } finally {
    client.close();
  }
}

async function isPythonOnlyApp(dir: string): Promise<boolean> {
  return !(await hasTypeScriptApp(dir)) && (await findPythonServerApp(dir)) !== undefined;
}
