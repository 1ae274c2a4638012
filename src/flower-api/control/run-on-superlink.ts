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
import type { Result } from "../strategy/result.ts";
import { followRun } from "./follow-run.ts";

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
  /** How long to wait for the SuperLink to come back if it goes away, in s. Default: 300. */
  reconnectTimeout?: number;
}

/**
 * A SuperLink without fedbridge's control API (Flower's own) answers UNIMPLEMENTED: say which
 * is which, and what works there, instead of "Method not found".
 */
function notOurs(error: unknown, address: string): unknown {
  if (!(error instanceof FedbridgeError) || error.code !== Code.Unimplemented) return error;
  return new FedbridgeError(
    Code.Unimplemented,
    `${address} does not serve fedbridge's control API (fedbridge.v1.Control); it is likely Flower's own SuperLink, whose Control API is flwr.proto.Control. fedbridge run --superlink needs a fedbridge SuperLink (fedbridge superlink); against Flower's, use flwr run (${error.message})`,
    { cause: error },
  );
}

/**
 * Packs an app, starts it as a run on a SuperLink and follows it to the end, reporting each
 * round to `observer` (follow-run.ts: through a restart of the SuperLink too). Resolves with
 * the ServerApp's Result (if it returned one); a failed or stopped run rejects with the
 * SuperLink's reason.
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
    const { runId } = await client
      .unary(Control.method.startRun, {
        appBundle: bundle.bytes,
        appBundleSha256: bundle.sha256,
        runConfig: configToScalars(options.runConfig ?? {}),
        pythonServerapp: options.pythonServerApp ?? false,
      })
      .catch((error: unknown) => {
        throw notOurs(error, options.address);
      });
    options.onStarted?.(runId);
    const stop = () => void client.unary(Control.method.stopRun, { runId }).catch(() => {});
    // Aborted while StartRun was on its way: the run exists now, so stop it at once.
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener("abort", stop, { once: true });
    return await followRun({
      address: options.address,
      credentials: options.credentials,
      runId,
      observer,
      ...(options.tracking ? { tracking: options.tracking } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.reconnectTimeout ? { reconnectTimeout: options.reconnectTimeout } : {}),
    });
  } finally {
    client.close();
  }
}

/**
 * Follows a run already on a SuperLink to its end, as `runOnSuperLink` does after starting
 * one (`fedbridge run --resume RUN_ID`): for a follower that was killed, or a run the
 * SuperLink resumed after a restart. A finished run answers at once with its outcome.
 */
export async function attachToRun(
  options: Omit<RunOnSuperLinkOptions, "appDir" | "runConfig" | "runConfigLabel" | "onStarted"> & {
    runId: bigint;
  },
): Promise<{ runId: bigint; result: Result | undefined }> {
  const { runId } = options;
  const stop = () => {
    const client = new GrpcClient(Control, options.address, options.credentials);
    void client
      .unary(Control.method.stopRun, { runId })
      .catch(() => {})
      .finally(() => client.close());
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    return await followRun({
      address: options.address,
      credentials: options.credentials,
      runId,
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.tracking ? { tracking: options.tracking } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.reconnectTimeout ? { reconnectTimeout: options.reconnectTimeout } : {}),
    });
  } finally {
    options.signal?.removeEventListener("abort", stop);
  }
}

async function isPythonOnlyApp(dir: string): Promise<boolean> {
  return !(await hasTypeScriptApp(dir)) && (await findPythonServerApp(dir)) !== undefined;
}
