import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";

afterAll(killAll);

/** Starts the quickstart's two SuperNodes with their temporary folders under `dir` (TMPDIR). */
async function superNodesWithTmp(fleet: string, dir: string) {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir; // read by the children when they are spawned, then restored here
  try {
    return await Promise.all([0, 1].map((i) => startTestSuperNode(fleet, i, 2)));
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

describe("a SuperNode's temporary app folders", () => {
  it("are removed when it stops, on SIGTERM or SIGINT (Ctrl-C)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-node-tmp-"));
    try {
      const superlink = await startTestSuperLink();
      const nodes = await superNodesWithTmp(superlink.fleet, dir);
      const run = await runFedbridge([
        "run",
        "examples/quickstart",
        "--superlink",
        superlink.control,
        "--insecure",
        "--run-config",
        "num-server-rounds=1",
      ]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      // The run's app was unpacked there...
      expect((await readdir(dir)).some((name) => name.startsWith("fedbridge-supernode-"))).toBe(
        true,
      );
      nodes[0]?.child.kill("SIGTERM");
      nodes[1]?.child.kill("SIGINT");
      expect(await Promise.all(nodes.map((node) => node.exited))).toEqual([0, 0]);
      // ...and nothing of it is left once the nodes have stopped (tsx keeps its compile
      // cache there too: that is not ours).
      expect((await readdir(dir)).filter((name) => name.startsWith("fedbridge-"))).toEqual([]);
      superlink.process.child.kill("SIGKILL");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
