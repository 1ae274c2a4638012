import { spawn } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { MALLOC_TUNABLES } from "../src/core/malloc-tuning.mjs";
import { alive, watchOutput } from "./processes.ts";

/** Each process of the command prints its pid and the GLIBC_TUNABLES it started with. */
const PRINT =
  "--import=data:text/javascript,console.log('pid='+process.pid+';tunables='+process.env.GLIBC_TUNABLES)";

/** `fedbridge ARGS` started as a user would, without our tunables (the user has others). */
function startUntuned(args: string[]) {
  const child = spawn(process.execPath, ["bin/fedbridge.mjs", ...args], {
    env: { ...process.env, GLIBC_TUNABLES: "glibc.malloc.arena_max=2", NODE_OPTIONS: PRINT },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, ...watchOutput(child, `fedbridge ${args[0]}`, 60_000) };
}

/** A SuperNode with no SuperLink to reach: it retries until stopped. */
async function startSupernode() {
  const node = startUntuned([
    "supernode",
    "--insecure",
    "--superlink",
    `127.0.0.1:${await freePort()}`,
  ]);
  await node.waitFor(/retrying in/);
  const processes = [...node.output().matchAll(/pid=(\d+);tunables=(.*)/g)];
  return { ...node, processes };
}

describe.skipIf(process.platform !== "linux")("fedbridge's commands that move models", () => {
  it("run with glibc's malloc tuned, the user's own tunables after ours", async () => {
    const node = await startSupernode();
    try {
      // The relay, as started, and the SuperNode, started again by it.
      expect(node.processes.map((p) => p[2])).toEqual([
        "glibc.malloc.arena_max=2",
        `${MALLOC_TUNABLES}:glibc.malloc.arena_max=2`,
      ]);
    } finally {
      node.child.kill("SIGKILL");
    }
  });

  it("stop with their relay: a signal is passed on, a killed relay takes the command along", async () => {
    const stopped = await startSupernode();
    expect(stopped.processes).toHaveLength(2); // the relay and the SuperNode
    stopped.child.kill("SIGTERM");
    expect(await stopped.exited).toEqual({ code: 0, signal: null });
    expect(alive(Number(stopped.processes[1]?.[1]))).toBe(false);

    const killed = await startSupernode();
    expect(alive(Number(killed.processes[1]?.[1]))).toBe(true);
    killed.child.kill("SIGKILL");
    await vi.waitFor(() => expect(alive(Number(killed.processes[1]?.[1]))).toBe(false), {
      timeout: 30_000,
    });
  });

  it("leave other commands alone", async () => {
    const version = startUntuned(["--version"]);
    expect((await version.exited).code).toBe(0);
    expect([...version.output().matchAll(/tunables=(.*)/g)].map((m) => m[1])).toEqual([
      "glibc.malloc.arena_max=2",
    ]);
  });
});
