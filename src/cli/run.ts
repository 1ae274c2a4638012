import { join, resolve } from "node:path";
import type { Command } from "commander";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../flower-api/control/run-on-superlink.ts";
import { type RunMode, summarizeResult, writeRunOutput } from "../flower-api/run-output.ts";
import { runSimulation } from "../flower-api/simulation/run-simulation.ts";
import type { Result } from "../flower-api/strategy/result.ts";
import {
  nodeEventsToFolder,
  RUN_TRACKING_SETUP_URL,
  useRunFolderTracking,
} from "../tracking/flower-runs/run-tracking.ts";
import { trackingObserver } from "../tracking/flower-runs/tracking-observer.ts";
import { createTensorBoardSink } from "../tracking/index.ts";
import { integer, positiveInt, runConfig } from "./options.ts";
import { createTerminalProgress } from "./progress.ts";
import { channelCredentials } from "./tls-flags.ts";

interface RunFlags {
  sim?: boolean;
  superlink?: string;
  nodes: number;
  seed: number;
  runConfig?: UserConfig;
  out?: string;
  workers?: number;
  insecure?: boolean;
  rootCertificates?: string;
  verbose?: boolean;
  json?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "run a Flower-style app: in simulation (--sim) or on a native deployment (--superlink)",
    )
    .argument("<app>", 'app folder: a package.json with a "fedbridge" field')
    .option("--sim", "simulate every node on this machine")
    .option("--nodes <n>", "simulated nodes, partition-ids 0..n-1", positiveInt, 2)
    .option("--seed <s>", "seed of every random choice of the run", integer, 0)
    .option(
      "--run-config <pairs>",
      'override the app\'s config, e.g. "num-server-rounds=5 lr=0.1"',
      runConfig,
    )
    .option("--out <dir>", "write result.json and final-arrays.pb here")
    .option(
      "--workers <n>",
      "worker threads for the ClientApps (default: one per core)",
      positiveInt,
    )
    .option("--superlink <host:port>", "the control API of a native deployment")
    .option("--insecure", "with --superlink: connect without TLS")
    .option("--root-certificates <file>", "with --superlink: CA certificate of the SuperLink")
    .option("--verbose", "print the strategy's log to stderr")
    .option("--json", "print result.json to stdout when done")
    .action(async (app: string, flags: RunFlags) => {
      if (Boolean(flags.sim) === (flags.superlink !== undefined)) {
        throw new FedbridgeError(
          Code.InvalidArgument,
          "choose where to run: --sim, or --superlink HOST:PORT",
        );
      }
      // With --json, stdout holds only the JSON: progress and notes go to stderr.
      const progress = createTerminalProgress({
        verbose: flags.verbose ?? false,
        ...(flags.json ? { output: process.stderr } : {}),
      });
      const started = Date.now();
      const log = flags.json ? console.error : console.log;
      const mode: RunMode = flags.superlink === undefined ? "simulation" : "deployment";
      // With --out, every round is also logged to <out>/tb_events/<server or node-ID>/.
      const sink =
        flags.out === undefined ? undefined : createTensorBoardSink(join(flags.out, "tb_events"));
      const observer = sink
        ? trackingObserver(progress, sink, (nodeId) => `node-${nodeId}`)
        : progress;
      const running =
        flags.superlink === undefined
          ? simulate(app, flags, observer, log)
          : deploy(app, flags.superlink, flags, observer, log);
      const outcome = await running.finally(async () => {
        progress.stop();
        await sink?.close?.();
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (outcome.result === undefined) {
        log(
          `done in ${seconds} s; the ServerApp's main returned no Result, so there is no final model to save`,
        );
        return;
      }
      if (flags.out !== undefined) {
        const summary = await writeRunOutput(flags.out, mode, outcome.result);
        log(`done in ${seconds} s; final model sha256 ${summary.finalArraysSha256}`);
        log(`wrote ${resolve(flags.out, "result.json")} and final-arrays.pb`);
        if (flags.json) console.log(JSON.stringify(summary));
      } else {
        const { summary } = summarizeResult(mode, outcome.result);
        log(
          `done in ${seconds} s; final model sha256 ${summary.finalArraysSha256} (--out DIR saves it)`,
        );
        if (flags.json) console.log(JSON.stringify(summary));
      }
    });
}

type Log = (line: string) => void;

async function simulate(
  app: string,
  flags: RunFlags,
  observer: RunObserver,
  log: Log,
): Promise<{ result: Result | undefined }> {
  log(`simulating ${app} on ${flags.nodes} nodes, seed ${flags.seed}`);
  // With --out, an app's own SummaryWriter (ServerApp here, ClientApps in the workers) writes
  // into the run's output folder too.
  const tracking = flags.out === undefined ? undefined : join(resolve(flags.out), "tb_events");
  const serverSink = tracking === undefined ? undefined : useRunFolderTracking(tracking);
  try {
    return await runSimulation({
      appDir: app,
      numNodes: flags.nodes,
      seed: flags.seed,
      ...(flags.runConfig ? { runConfig: flags.runConfig } : {}),
      runConfigLabel: "--run-config",
      ...(flags.workers ? { workers: flags.workers } : {}),
      ...(tracking
        ? { workerSetup: { url: RUN_TRACKING_SETUP_URL, data: { folder: tracking } } }
        : {}),
      observer,
    });
  } finally {
    await serverSink?.close?.();
  }
}

async function deploy(
  app: string,
  address: string,
  flags: RunFlags,
  observer: RunObserver,
  log: Log,
): Promise<{ result: Result | undefined }> {
  // Ctrl-C, or a SIGTERM from a supervisor, stops the run on the SuperLink before this process
  // exits (non-zero, saying so); otherwise the run would go on without anyone following it.
  // A second signal of the same kind kills the process as usual.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // With --out, the nodes' app events (SummaryWriter) go to <out>/tb_events/node-<id>/.
  const nodeEvents =
    flags.out === undefined
      ? undefined
      : nodeEventsToFolder(join(resolve(flags.out), "tb_events"), console.error);
  try {
    const outcome = await runOnSuperLink({
      address,
      credentials: await channelCredentials(flags),
      appDir: app,
      runConfig: { ...flags.runConfig, seed: flags.seed },
      runConfigLabel: "--run-config",
      observer,
      signal: stop.signal,
      onStarted: (runId) => log(`started run ${runId} on ${address}`),
      ...(nodeEvents
        ? { tracking: (nodeId: bigint, events: object[]) => nodeEvents.write(nodeId, events) }
        : {}),
    });
    log(`run ${outcome.runId} on ${address} finished`);
    return outcome;
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    const why = FedbridgeError.from(error).message;
    throw new FedbridgeError(Code.Aborted, `${why} (on ${stop.signal.reason})`, { cause: error });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await nodeEvents?.close();
  }
}
