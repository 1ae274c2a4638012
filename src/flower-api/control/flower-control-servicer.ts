import { createHash } from "node:crypto";
import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { readBundle } from "../../core/folder-bundle.ts";
import { implementation, serverStreamHandler, unaryHandler } from "../../core/wire/grpc-service.ts";
import { Control } from "../../gen/flwr/proto/control_pb.ts";
import type { Run } from "../../gen/flwr/proto/run_pb.ts";
import { type AppManifest, readAppManifest } from "../app/load-app.ts";
import { configToScalars, scalarsToConfig } from "../app/scalars.ts";
import { DEFAULT_MAX_BUNDLE_BYTES, unpackApp } from "../fab/app-bundle.ts";
import { type FabIdentity, nodeOverrides, PYPROJECT_PATH } from "../fab/flower-pyproject.ts";
import { pyprojectIdentity } from "../fab/pyproject-identity.ts";
import { findPythonServerApp } from "../fab/python-app.ts";
import { startPythonRun } from "../superlink/flower-serverapp-process.ts";
import { pythonIsoTimestamp } from "../superlink/node-auth.ts";
import type { RunRecord } from "../superlink/run-registry.ts";
import { runServerApp } from "../superlink/server-app-runner.ts";
import type { ControlState } from "./control-servicer.ts";
import { runLogLines } from "./run-log-text.ts";

/** Flower's answer to a run id it does not know. */
const RUN_ID_NOT_FOUND = "Run ID not found";
/** How often a log stream with nothing new re-checks its run, in ms (events wake it sooner). */
const STREAM_IDLE_MS = 5_000;

/**
 * Flower 1.28's Control API (flwr.proto.Control) on our SuperLink, for Flower's CLI: `flwr run`
 * (StartRun), `flwr log` and `flwr run --stream` (StreamLogs), `flwr ls` (ListRuns), `flwr
 * stop` (StopRun). A FAB with a fedbridge app (package.json and its TypeScript modules) runs
 * its TypeScript ServerApp here; a FAB with only a Python ServerApp runs through
 * `pythonServerApp`. The account, federation and login calls answer UNIMPLEMENTED with why.
 */
export function createFlowerControlServicer(state: ControlState) {
  const { runs, router, nodes, workDir, database } = state;
  const m = Control.method;
  const unsupported = (what: string) => () => {
    throw new FedbridgeError(
      Code.Unimplemented,
      `fedbridge's SuperLink serves flwr run, flwr ls, flwr log and flwr stop of Flower's Control API; ${what} is not supported here`,
    );
  };

  return implementation({
    StartRun: unaryHandler(m.startRun, async (req) => {
      if (req.appSpec)
        throw new FedbridgeError(
          Code.Unimplemented,
          `fedbridge's SuperLink takes the app as a FAB, not an app spec (${req.appSpec}): run flwr run from the app folder`,
        );
      if (req.federation && req.federation !== "@none/default")
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `fedbridge's SuperLink has no federations; it cannot run in '${req.federation}'`,
        );
      const content = req.fab?.content ?? new Uint8Array();
      const hash = createHash("sha256").update(content).digest("hex");
      if (req.fab?.hashStr !== hash)
        throw new FedbridgeError(
          Code.InvalidArgument,
          `FAB hash mismatch: expected ${req.fab?.hashStr || "(none)"}, got ${hash}`,
        );
      const files = readBundle(content, hash, {
        label: "FAB",
        maxBytes: DEFAULT_MAX_BUNDLE_BYTES,
      });
      const pyproject = files.get(PYPROJECT_PATH);
      if (pyproject === undefined)
        throw new FedbridgeError(Code.InvalidArgument, `the FAB has no ${PYPROJECT_PATH}`);
      const identity = pyprojectIdentity(
        new TextDecoder().decode(pyproject),
        `FAB ${PYPROJECT_PATH}`,
      );
      const overrides = scalarsToConfig(req.overrideConfig);
      // Flower's own check: an override must name a key of the app's config.
      for (const key of Object.keys(overrides))
        if (!identity.configKeys.includes(key))
          throw new FedbridgeError(
            Code.InvalidArgument,
            `run config key '${key}' is not in the app's [tool.flwr.app.config] (${identity.configKeys.join(", ") || "empty"})`,
          );
      const dir = await unpackApp(content, hash, join(workDir, "bundles", hash));
      const manifest = await readAppManifest(dir).catch(() => undefined);
      // No TypeScript ServerApp: its Python one runs in Flower's flwr-serverapp (ServerAppIo).
      const python = manifest === undefined ? await findPythonServerApp(dir) : undefined;
      if (python !== undefined) {
        const run = startPythonRun(python, { hash, bytes: content }, overrides, state);
        return { runId: run.runId };
      }
      const fab = { hash, id: identity.fabId, version: identity.fabVersion };
      const runConfig = { ...identity.config, ...(manifest?.config ?? {}), ...overrides };
      const run = runs.create(fab, content, runConfig, nodeOverrides(identity, overrides));
      startServerApp(run, identity, manifest);
      return { runId: run.runId };
    }),
    StreamLogs: serverStreamHandler(m.streamLogs, async (req, send, ctx) => {
      const run = runs.get(req.runId);
      if (run === undefined) throw new FedbridgeError(Code.NotFound, RUN_ID_NOT_FOUND);
      let after = req.afterTimestamp;
      for (;;) {
        const fresh = runLogLines(run).filter((line) => line.time > after);
        if (fresh.length > 0) {
          after = Math.max(...fresh.map((line) => line.time));
          await send({
            logOutput: fresh.map((line) => `${line.text}\n`).join(""),
            latestTimestamp: after,
          });
        }
        // Flower's rule: a finished run's whole log has been sent; the stream ends OK.
        if (run.status === "finished" || ctx.signal.aborted) return;
        await runs.waitForChange(STREAM_IDLE_MS, ctx.signal);
      }
    }),
    ListRuns: unaryHandler(m.listRuns, (req) => {
      let listed = runs.all();
      if (req.runId !== undefined) listed = listed.filter((run) => run.runId === req.runId);
      if (req.limit !== undefined) listed = listed.slice(-Number(req.limit));
      return {
        runDict: Object.fromEntries(listed.map((run) => [run.runId.toString(), flowerRun(run)])),
        now: pythonIsoTimestamp(),
      };
    }),
    StopRun: unaryHandler(m.stopRun, (req) => {
      const run = runs.get(req.runId);
      if (run === undefined) throw new FedbridgeError(Code.NotFound, RUN_ID_NOT_FOUND);
      if (run.status === "finished")
        throw new FedbridgeError(
          Code.FailedPrecondition,
          `Run ID ${req.runId} is already finished`,
        );
      runs.finish(run, "stopped", "stopped by the user");
      router.dropRun(run.runId);
      return { success: true };
    }),
    GetLoginDetails: unaryHandler(m.getLoginDetails, unsupported("flwr login (no account auth)")),
    GetAuthTokens: unaryHandler(m.getAuthTokens, unsupported("flwr login (no account auth)")),
    PullArtifacts: unaryHandler(m.pullArtifacts, unsupported("flwr pull")),
    ListNodes: unaryHandler(m.listNodes, unsupported("flwr supernode ls")),
    ListFederations: unaryHandler(m.listFederations, unsupported("flwr federation ls")),
  });

  function startServerApp(
    run: RunRecord,
    identity: FabIdentity,
    manifest: AppManifest | undefined,
  ): void {
    if (manifest !== undefined) {
      void runServerApp(
        run,
        manifest.serverappUrl,
        { runs, router, nodes },
        database?.journal(run.runId),
      );
      return;
    }
    if (!identity.own) {
      runs.finish(run, "failed", "the FAB's fedbridge app has no TypeScript ServerApp module");
      return;
    }
    runs.finish(
      run,
      "failed",
      `this app's ServerApp (${identity.components.serverapp}) is neither a TypeScript module nor a Python module the FAB carries`,
    );
  }
}

/** A run as Flower's ListRuns describes it. */
function flowerRun(run: RunRecord): Omit<Run, "$typeName"> {
  const started = pythonIsoTimestamp(run.startedAt);
  return {
    runId: run.runId,
    fabId: run.fabId,
    fabVersion: run.fabVersion,
    overrideConfig: configToScalars(run.overrideConfig),
    fabHash: run.fabHash,
    pendingAt: started,
    startingAt: started,
    runningAt: started,
    finishedAt: run.finishedAt ? pythonIsoTimestamp(run.finishedAt) : "",
    status: {
      $typeName: "flwr.proto.RunStatus",
      status: run.status,
      subStatus: run.subStatus,
      details: run.details,
    },
    flwrAid: "<id:none>",
    federation: "@none/default",
    bytesSent: 0n,
    bytesRecv: 0n,
    clientappRuntime: 0,
    runType: "serverapp",
  };
}
