import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { readAppManifest } from "../app/load-app.ts";
import { unpackApp } from "../fab/app-bundle.ts";
import type { MessageRouter } from "./message-router.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunRegistry } from "./run-registry.ts";
import { runServerApp } from "./server-app-runner.ts";
import type { SuperLinkDatabase } from "./superlink-database.ts";

/**
 * Takes back the runs a previous SuperLink process kept in `database`: finished ones to be
 * looked at (`run --resume` prints their result), running ones to be resumed: each one's
 * ServerApp runs again from the start, answered from the run's journal, then live. A run whose
 * bundle cannot be unpacked again ends failed, saying why. Every run is known once this
 * resolves (so a follower that comes back finds its run); the ServerApps start when the
 * function it resolves with is called, once the ServerAppIo API serves.
 */
export async function resumeRuns(
  database: SuperLinkDatabase,
  state: { runs: RunRegistry; router: MessageRouter; nodes: NodeRegistry },
  workDir: string,
  log: (line: string) => void,
): Promise<() => void> {
  const resumed: (() => void)[] = [];
  for (const stored of database.runs()) {
    const bundle = database.bundle(stored.fabHash);
    if (stored.status === "finished") {
      state.runs.restore(stored, bundle, stored.overrideConfig);
      continue;
    }
    try {
      if (bundle === undefined)
        throw new FedbridgeError(Code.DataLoss, `its app bundle ${stored.fabHash} is missing`);
      const dir = join(workDir, "bundles", stored.fabHash);
      const manifest = await readAppManifest(await unpackApp(bundle, stored.fabHash, dir));
      const run = state.runs.restore(stored, bundle, {
        ...manifest.config,
        ...stored.overrideConfig,
      });
      const journal = database.journal(run.runId);
      log(
        `resuming run ${run.runId}: its ServerApp runs again from the start, answered from its journal (${journal.entries().size} replies), then live`,
      );
      resumed.push(() => void runServerApp(run, manifest.serverappUrl, state, journal));
    } catch (error) {
      const run = state.runs.restore(stored, bundle, stored.overrideConfig);
      const why = `cannot resume after the SuperLink restarted: ${FedbridgeError.from(error).message}`;
      log(`run ${run.runId} ${why}`);
      state.runs.finish(run, "failed", why);
    }
  }
  return () => {
    for (const start of resumed) start();
  };
}
