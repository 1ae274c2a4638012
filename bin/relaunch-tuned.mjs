// Runs the commands that move models (a SuperLink, a SuperNode) with glibc's malloc tuned for
// model-sized data (src/core/malloc-tuning.mjs: why, and what it costs). glibc reads
// GLIBC_TUNABLES only as a process starts, and Node 20 cannot exec itself, so such a command
// started without them runs as a child of this process, which then only relays: it passes
// SIGINT, SIGTERM and SIGHUP on (the child has a process group of its own, so a Ctrl-C reaches
// it once), leaves with the child's exit status, and takes the child with it if killed: the
// child kills itself (SIGKILL, as this process was) when its IPC channel to this process closes.
// Plain JavaScript: it runs before TypeScript is loadable, so the relay stays small.
import { spawn } from "node:child_process";
import { mallocTuned, withMallocTuning } from "../src/core/malloc-tuning.mjs";

const MODEL_COMMANDS = new Set(["superlink", "supernode"]);
const RELAYED = ["SIGINT", "SIGTERM", "SIGHUP"];
const RELAUNCHED = "FEDBRIDGE_MALLOC_RELAUNCHED";

/**
 * Whether this process became the relay of a tuned child (the caller then does nothing else).
 * In a child it started, arranges the stop when the relay goes.
 */
export function relaunchTuned() {
  if (process.env[RELAUNCHED] !== undefined && process.send !== undefined) {
    process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));
    process.channel?.unref(); // the channel alone keeps nothing running
    return false;
  }
  if (
    !MODEL_COMMANDS.has(process.argv[2] ?? "") ||
    mallocTuned() ||
    process.platform !== "linux" ||
    !process.report.getReport().header.glibcVersionRuntime // musl: no glibc to tune
  )
    return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    env: { ...withMallocTuning(), [RELAUNCHED]: "1" },
  });
  for (const signal of RELAYED) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => {
    console.error(`fedbridge: could not start ${process.argv[2]}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Leave as the child did: by its signal, with this process's own handlers gone.
    for (const relayed of RELAYED) process.removeAllListeners(relayed);
    process.kill(process.pid, signal);
  });
  return true;
}
