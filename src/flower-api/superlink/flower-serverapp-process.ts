import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import type { UserConfig } from "../app/context.ts";
import { type PythonServerApp, pythonRunConfig } from "../fab/python-app.ts";
import type { AppTokens } from "./app-tokens.ts";
import type { RunRecord, RunRegistry } from "./run-registry.ts";

/** Flower's ServerApp executable, as flower-superexec starts it for a "serverapp" run. */
export const FLOWER_SERVERAPP = "flwr-serverapp";

/** Starts Flower's own ServerApp process for runs whose app has a Python ServerApp. */
export interface PythonServerAppLauncher {
  /** Throws FAILED_PRECONDITION, saying why, when this SuperLink cannot run Python ServerApps. */
  check(): void;
  /** Takes the run's token and starts the process; its end without a reported status fails the run. */
  launch(run: RunRecord): void;
  /** Stops every process still running. */
  close(): void;
}

/**
 * `flwr-serverapp` in `FEDBRIDGE_FLOWER_BIN` (a folder of Flower's executables), else on PATH;
 * undefined when neither has it.
 */
export function findFlowerServerApp(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = env.FEDBRIDGE_FLOWER_BIN
    ? [env.FEDBRIDGE_FLOWER_BIN]
    : (env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const dir of dirs) {
    const path = join(dir, FLOWER_SERVERAPP);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/**
 * Creates the run of an app whose ServerApp is Python and has its process started: the run
 * config is the app's pyproject.toml config with the overrides (checked as Flower does), and
 * a SuperLink without Flower refuses the run, saying why, before it exists. For every entry
 * point that starts runs (fedbridge's control API, Flower's Control API).
 */
export function startPythonRun(
  app: PythonServerApp,
  bundle: { hash: string; bytes: Uint8Array },
  overrides: UserConfig,
  state: { runs: RunRegistry; pythonServerApps: PythonServerAppLauncher },
): RunRecord {
  const { runConfig, overrideConfig } = pythonRunConfig(app.toml, overrides);
  state.pythonServerApps.check();
  const fab = { hash: bundle.hash, id: app.fabId, version: app.toml.version };
  const run = state.runs.create(fab, bundle.bytes, runConfig, overrideConfig, undefined, "python");
  state.pythonServerApps.launch(run);
  return run;
}

/** How many of the process's last stderr lines a failure reason quotes. */
const STDERR_TAIL_LINES = 15;

/**
 * Launches `flwr-serverapp --insecure --serverappio-api-address ADDR --token T --parent-pid P`
 * per run, the command flower-superexec runs in Flower 1.28. The SuperLink takes the token
 * itself (the run skips the launcher's poll), owns the process and reads its exit: a process
 * that ends before reporting the run's status fails the run with its exit code and the tail
 * of its stderr. `FLWR_HOME` defaults to `flwrHome`, so installed app bundles stay there.
 */
export function createFlowerServerAppLauncher(options: {
  runs: RunRegistry;
  /** Where the ServerAppIo API listens, as the process dials it. */
  serverAppIoAddress: () => string;
  flwrHome: string;
  tokens: AppTokens;
  /** Ends a run as failed, saying why (its followers see the reason). */
  fail: (run: RunRecord, details: string) => void;
  env?: NodeJS.ProcessEnv;
}): PythonServerAppLauncher {
  const { runs, tokens, fail } = options;
  const env = options.env ?? process.env;
  const children = new Set<ChildProcess>();
  const binary = () => {
    const found = findFlowerServerApp(env);
    if (found === undefined) {
      const where = env.FEDBRIDGE_FLOWER_BIN
        ? `FEDBRIDGE_FLOWER_BIN (${env.FEDBRIDGE_FLOWER_BIN}) has no executable ${FLOWER_SERVERAPP}`
        : `${FLOWER_SERVERAPP} is not on PATH and FEDBRIDGE_FLOWER_BIN is not set`;
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `this app's ServerApp is Python (pyproject.toml [tool.flwr.app.components] serverapp), which needs Flower 1.28 installed at the SuperLink: ${where}`,
      );
    }
    return found;
  };
  return {
    check() {
      binary();
    },
    launch(run) {
      const path = binary();
      const token = tokens.issue(run);
      const args = ["--insecure", "--serverappio-api-address", options.serverAppIoAddress()];
      args.push("--token", token, "--parent-pid", String(process.pid));
      const child = spawn(path, args, {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...env, FLWR_HOME: env.FLWR_HOME ?? options.flwrHome },
      });
      children.add(child);
      runs.emit(
        run,
        create(RunEventSchema, {
          event: {
            case: "waiting",
            value: `starting Flower's ServerApp process (${path}, pid ${child.pid}) for run ${run.runId}`,
          },
        }),
      );
      const tail: string[] = [];
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (chunk: string) => {
        tail.push(...chunk.split("\n").filter((line) => line.trim() !== ""));
        tail.splice(0, Math.max(0, tail.length - STDERR_TAIL_LINES));
      });
      child.on("error", (error) =>
        fail(run, `cannot start Flower's ServerApp process ${path}: ${error.message}`),
      );
      child.on("close", (code, signal) => {
        children.delete(child);
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const stderr = tail.length > 0 ? `; its stderr ends:\n${tail.join("\n")}` : "";
        fail(
          run,
          `Flower's ServerApp process (${FLOWER_SERVERAPP}) ${how} before reporting the run's end${stderr}`,
        );
      });
    },
    close() {
      for (const child of children) child.kill("SIGTERM");
    },
  };
}
