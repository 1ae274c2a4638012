import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { implementation, serverStreamHandler, unaryHandler } from "../../core/wire/grpc-service.ts";
import { Control, type RunEvent, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { readAppManifest } from "../app/load-app.ts";
import { checkRunConfig } from "../app/run-config.ts";
import { scalarsToConfig } from "../app/scalars.ts";
import { unpackApp } from "../fab/app-bundle.ts";
import { nodeOverrides, PYPROJECT_PATH } from "../fab/flower-pyproject.ts";
import { pyprojectIdentity } from "../fab/pyproject-identity.ts";
import { findPythonServerApp, hasTypeScriptApp } from "../fab/python-app.ts";
import {
  type PythonServerAppLauncher,
  startPythonRun,
} from "../superlink/flower-serverapp-process.ts";
import type { MessageRouter } from "../superlink/message-router.ts";
import type { NodeRegistry } from "../superlink/node-registry.ts";
import type { RunRegistry } from "../superlink/run-registry.ts";
import { runServerApp } from "../superlink/server-app-runner.ts";
import type { SuperLinkDatabase } from "../superlink/superlink-database.ts";
import { streamedEvents } from "./final-model-stream.ts";

export interface ControlState {
  runs: RunRegistry;
  router: MessageRouter;
  nodes: NodeRegistry;
  /** Where run bundles are unpacked. */
  workDir: string;
  /** Keeps runs and their reply journals (`superlink --database`). Default: none. */
  database?: SuperLinkDatabase;
  /** Starts Flower's ServerApp process for an app whose ServerApp is Python. */
  pythonServerApps: PythonServerAppLauncher;
}

/** How often a follower with nothing new re-checks its run, in ms (events wake it sooner). */
const STREAM_IDLE_MS = 5_000;

/**
 * The control API behind `fedbridge run APP --superlink`: start a run from an app bundle
 * (checked against its SHA-256, unpacked, ServerApp started), follow its events, stop it.
 */
export function createControlServicer(state: ControlState) {
  const { runs, router, nodes, workDir, pythonServerApps } = state;
  const m = Control.method;

  return implementation({
    StartRun: unaryHandler(m.startRun, async (req) => {
      const actual = createHash("sha256").update(req.appBundle).digest("hex");
      if (actual !== req.appBundleSha256) {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `app bundle hash mismatch: expected ${req.appBundleSha256 || "(none)"}, got ${actual}`,
        );
      }
      const overrides = scalarsToConfig(req.runConfig);
      const dir = await unpackApp(req.appBundle, actual, join(workDir, "bundles", actual));
      // An app with a TypeScript ServerApp runs that one unless asked for its Python one;
      // an app without one runs its Python one, if any.
      const python =
        !req.pythonServerapp && (await hasTypeScriptApp(dir))
          ? undefined
          : await findPythonServerApp(dir);
      if (req.pythonServerapp && python === undefined)
        throw new FedbridgeError(
          Code.InvalidArgument,
          "the app has no Python ServerApp: its pyproject.toml names no serverapp module that the app carries as a .py file",
        );
      if (python !== undefined) {
        const bundle = { hash: actual, bytes: req.appBundle };
        const run = startPythonRun(python, bundle, overrides, { runs, pythonServerApps });
        return { runId: run.runId };
      }
      const manifest = await readAppManifest(dir);
      checkRunConfig(manifest, overrides); // answers INVALID_ARGUMENT before the run exists
      // The identity Flower's nodes check: from the bundle's pyproject.toml (packApp adds one).
      const pyproject = await readFile(join(dir, PYPROJECT_PATH), "utf8").catch(() => {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `the app bundle has no ${PYPROJECT_PATH}, so Flower's nodes could not read it; pack it with this fedbridge`,
        );
      });
      const identity = pyprojectIdentity(pyproject, `app bundle ${PYPROJECT_PATH}`);
      const run = runs.create(
        { hash: actual, id: identity.fabId, version: identity.fabVersion },
        req.appBundle,
        { ...manifest.config, ...overrides },
        nodeOverrides(identity, overrides),
      );
      void runServerApp(
        run,
        manifest.serverappUrl,
        { runs, router, nodes },
        state.database?.journal(run.runId),
      );
      return { runId: run.runId };
    }),
    StreamRun: serverStreamHandler(m.streamRun, async (req, send, ctx) => {
      const run = runs.get(req.runId);
      if (run === undefined) throw new FedbridgeError(Code.NotFound, `no run ${req.runId}`);
      let sent = 0;
      for (;;) {
        while (sent < run.events.length) {
          const event = await runs.wholeEvent(run, run.events[sent++] as RunEvent);
          for (const part of streamedEvents(event)) {
            if (ctx.signal.aborted) return;
            await send(part);
          }
        }
        const finished = run.events.some((e) => e.event.case === "runFinished");
        if (finished || ctx.signal.aborted) return;
        if (run.status === "finished") {
          // Stopped from elsewhere: say so, once.
          await send(
            create(RunEventSchema, {
              event: {
                case: "runFinished",
                value: { status: run.subStatus, details: run.details },
              },
            }),
          );
          return;
        }
        await runs.waitForChange(STREAM_IDLE_MS, ctx.signal);
      }
    }),
    StopRun: unaryHandler(m.stopRun, (req) => {
      const run = runs.get(req.runId);
      if (run === undefined) throw new FedbridgeError(Code.NotFound, `no run ${req.runId}`);
      runs.finish(run, "stopped", "stopped by the user");
      router.dropRun(run.runId);
      return {};
    }),
  });
}
