import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { startTestRuntime } from "./runtime-harness.ts";

afterAll(killAll);

/** SHA-256 of every file of a folder, by relative path. */
async function folderHashes(
  dir: string,
  skip: (path: string) => boolean = () => false,
): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const hashes: Record<string, string> = {};
  for (const file of files.sort()) {
    const path = relative(dir, file);
    if (!skip(path))
      hashes[path] = createHash("sha256")
        .update(await readFile(file))
        .digest("hex");
  }
  return hashes;
}

const resultOf = async (dir: string) =>
  JSON.parse(await readFile(join(dir, "result.json"), "utf8"));

describe("the same app, seed and partitioning give the same model in all three modes", () => {
  it("examples/quickstart, seed 7, 3 nodes: simulation = native deployment = runtime through the bridge", async () => {
    const app = "examples/quickstart";
    const before = await folderHashes(app);
    const out = (name: string) => mkdtemp(join(tmpdir(), `fedbridge-parity-${name}-`));

    const simOut = await out("sim");
    expect(
      (await runFedbridge(["run", app, "--sim", "--nodes", "3", "--seed", "7", "--out", simOut]))
        .code,
    ).toBe(0);

    const { fleet, control } = await startTestSuperLink();
    await Promise.all([0, 1, 2].map((i) => startTestSuperNode(fleet, i, 3)));
    const depOut = await out("deployment");
    expect(
      (
        await runFedbridge([
          "run",
          app,
          "--superlink",
          control,
          "--insecure",
          "--seed",
          "7",
          "--out",
          depOut,
        ])
      ).code,
    ).toBe(0);

    const runtime = await startTestRuntime(3);
    const submitted = await runtime.admin(["submit", app, "--seed", "7"]);
    expect(submitted.code).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).code).toBe(0);
    const runtimeOut = await out("runtime");
    expect((await runtime.admin(["download", jobId, "-o", runtimeOut])).code).toBe(0);

    const [sim, dep, rt] = await Promise.all([
      resultOf(simOut),
      resultOf(depOut),
      resultOf(runtimeOut),
    ]);
    expect([sim.mode, dep.mode, rt.mode]).toEqual(["simulation", "deployment", "runtime"]);
    expect(dep.finalArraysSha256).toBe(sim.finalArraysSha256);
    expect(rt.finalArraysSha256).toBe(sim.finalArraysSha256);
    expect(rt.rounds).toEqual(sim.rounds);
    // The app ran unchanged: its folder is as it was, and the runtime ran exactly its files.
    expect(await folderHashes(app)).toEqual(before);
    const ranAtServer = await folderHashes(
      join(runtime.kits, "server1", "jobs", jobId, "app"),
      (p) => p === "meta.json" || p === "pyproject.toml",
    );
    expect(ranAtServer).toEqual(before);
    const ranAtSite = await folderHashes(
      join(runtime.kits, "site-2", "jobs", jobId, "app"),
      (p) => p === "meta.json" || p === "pyproject.toml",
    );
    expect(ranAtSite).toEqual(before);
  });
});
