import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, startFedbridge, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { freePort, startTestRuntime } from "./runtime-harness.ts";

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

/**
 * examples/quickstart with seed 7 on 3 nodes (and `runConfig`, if any) in simulation, in a
 * native deployment and on the runtime through the bridge; each mode's result.json, and the
 * runtime's job.
 */
async function runInThreeModes(app: string, runConfig: string[] = []) {
  const out = (name: string) => mkdtemp(join(tmpdir(), `fedbridge-parity-${name}-`));

  const simOut = await out("sim");
  expect(
    (
      await runFedbridge([
        "run",
        app,
        "--sim",
        "--nodes",
        "3",
        "--seed",
        "7",
        ...runConfig,
        "--out",
        simOut,
      ])
    ).code,
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
        ...runConfig,
        "--out",
        depOut,
      ])
    ).code,
  ).toBe(0);

  const runtime = await startTestRuntime(3);
  const submitted = await runtime.admin(["submit", app, "--seed", "7", ...runConfig]);
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
  return { sim, dep, rt, runtime, jobId };
}

/** What submitting adds to an app's files: the job's meta.json and Flower's pyproject.toml with its module. */
const GENERATED = ["meta.json", "pyproject.toml", "fedbridge_typescript_app.py"];

describe("the same app, seed and partitioning give the same model in all three modes", () => {
  it("examples/quickstart, seed 7, 3 nodes: simulation = native deployment = runtime through the bridge", async () => {
    const app = "examples/quickstart";
    const before = await folderHashes(app);
    const { sim, dep, rt, runtime, jobId } = await runInThreeModes(app);
    expect(dep.finalArraysSha256).toBe(sim.finalArraysSha256);
    expect(rt.finalArraysSha256).toBe(sim.finalArraysSha256);
    expect(rt.rounds).toEqual(sim.rounds);
    // The app ran unchanged: its folder is as it was, and the runtime ran exactly its files.
    expect(await folderHashes(app)).toEqual(before);
    const ranAtServer = await folderHashes(
      join(runtime.kits, "server1", "jobs", jobId, "app"),
      (p) => GENERATED.includes(p),
    );
    expect(ranAtServer).toEqual(before);
    const ranAtSite = await folderHashes(join(runtime.kits, "site-2", "jobs", jobId, "app"), (p) =>
      GENERATED.includes(p),
    );
    expect(ranAtSite).toEqual(before);
  });

  it("with central DP (dp=server-adaptive: model and clipped-count noise from the run seed), the same model too", async () => {
    const { sim, dep, rt, runtime, jobId } = await runInThreeModes("examples/quickstart", [
      "--run-config",
      'num-server-rounds=2 dp="server-adaptive"',
    ]);
    expect(dep.finalArraysSha256).toBe(sim.finalArraysSha256);
    expect(rt.finalArraysSha256).toBe(sim.finalArraysSha256);
    const log = await readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");
    expect(log).toMatch(/privacy: \(ε = [\d.]+, δ = [\d.e-]+\) after 2 rounds/);
  });

  it("the shim: 3 sites, each a fedbridge bridge with a SuperNode connected to it, give the same model", async () => {
    const sim = await runFedbridge([
      "run",
      "examples/quickstart",
      "--sim",
      "--nodes",
      "3",
      "--seed",
      "7",
      "--json",
    ]);
    const expected = JSON.parse(sim.stdout.trim().split("\n").at(-1) as string).finalArraysSha256;
    const runtime = await startTestRuntime(0);
    await Promise.all(
      [1, 2, 3].map(async (i) => {
        const fleetPort = await freePort();
        const bridge = startFedbridge([
          "bridge",
          "--kit",
          join(runtime.kits, `site-${i}`),
          "--fleet-api-address",
          `127.0.0.1:${fleetPort}`,
        ]);
        await bridge.waitFor(/connected to server1/);
        await startTestSuperNode(`127.0.0.1:${fleetPort}`, i - 1, 3);
      }),
    );
    const submitted = await runtime.admin(["submit", "examples/quickstart", "--seed", "7"]);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    expect((await runtime.admin(["wait", jobId, "--timeout", "120"])).code).toBe(0);
    const out = await mkdtemp(join(tmpdir(), "fedbridge-parity-shim-"));
    expect((await runtime.admin(["download", jobId, "-o", out])).code).toBe(0);
    expect((await resultOf(out)).finalArraysSha256).toBe(expected);
  });
});
