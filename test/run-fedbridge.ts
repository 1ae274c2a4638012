import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { withMallocTuning } from "../src/core/malloc-tuning.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `fedbridge ARGS...` as a user would, from the repository root. */
export function runFedbridge(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/fedbridge.mjs", ...args],
      { cwd: root, timeout: timeoutMs, env: { ...withMallocTuning(), FORCE_COLOR: "0" } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
