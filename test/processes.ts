import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withMallocTuning } from "../src/core/malloc-tuning.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

/** A `fedbridge` process started by a test, with its output kept for assertions. */
export interface FedbridgeProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output (stdout and stderr). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

const started = new Set<ChildProcess>();

/** Starts `fedbridge ARGS...` from the repository root. */
export function startFedbridge(args: string[]): FedbridgeProcess {
  const child = spawn(process.execPath, ["bin/fedbridge.mjs", ...args], {
    cwd: root,
    // Tuned as `fedbridge` tunes itself, so that it needs no relay (bin/relaunch-tuned.mjs).
    env: { ...withMallocTuning(), FORCE_COLOR: "0" },
  });
  started.add(child);
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  exited.then(() => started.delete(child));
  return { child, exited, ...watchOutput(child, `fedbridge ${args[0]}`, 60_000) };
}

/** A child's stdout and stderr together, kept for assertions, and a wait for a match in it. */
export function watchOutput(child: ChildProcess, name: string, defaultTimeoutMs: number) {
  let output = "";
  let closed = false;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    changed();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  // 'close' comes after the last output was read: a pattern not seen by then never will be.
  child.on("close", () => {
    closed = true;
    changed();
  });
  return {
    output: () => output,
    waitFor(pattern: RegExp, timeoutMs = defaultTimeoutMs): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const stop = () => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            stop();
            resolve(match);
          } else if (closed) {
            stop();
            reject(new Error(`${name} ended before printing ${pattern}; it said:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; ${name} said so far:\n${output}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

/** Kills every process a test started that is still running (by pid). */
export function killAll(): void {
  for (const child of started)
    if (child.pid !== undefined && child.exitCode === null) child.kill("SIGKILL");
  started.clear();
}

/** A SuperLink on free loopback ports. */
export async function startTestSuperLink(extra: string[] = []) {
  const process = startFedbridge([
    "superlink",
    "--insecure",
    "--fleet-api-address",
    "127.0.0.1:0",
    "--control-api-address",
    "127.0.0.1:0",
    ...extra,
  ]);
  const [, fleet, control] = await process.waitFor(
    /Fleet API on port (\d+), control API on port (\d+)/,
  );
  return { process, fleet: `127.0.0.1:${fleet}`, control: `127.0.0.1:${control}` };
}

/** A SuperNode for partition `i` of `n`, connected once it says so. */
export async function startTestSuperNode(
  fleet: string,
  i: number,
  n: number,
  extra: string[] = [],
) {
  const process = startFedbridge([
    "supernode",
    "--superlink",
    fleet,
    "--insecure",
    "--node-config",
    `partition-id=${i} num-partitions=${n}`,
    ...extra,
  ]);
  await process.waitFor(/connected to .* as node \d+/);
  return process;
}

/** Whether process `pid` still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
