import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { type FedbridgeProcess, killAll, startFedbridge, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { quickstartWith } from "./test-apps.ts";

// The native deployment survives a SuperLink SIGKILL: restarted on its --database, the
// SuperLink runs each running run's ServerApp again from the start, answered from the run's
// journal, and the run ends with the model an undisturbed run gives; the SuperNodes reconnect
// as the same nodes and no node trains a round twice. The app (test/apps/resumable) takes a
// second per message, so a kill lands mid-phase.

afterAll(killAll);

const tempDir = () => mkdtemp(join(tmpdir(), "fedbridge-superlink-resume-"));
let app: string;
let reference: string;

beforeAll(async () => {
  app = await quickstartWith("resumable");
  const sim = await runFedbridge([
    "run",
    app,
    "--sim",
    "--nodes",
    "3",
    "--seed",
    "7",
    "--run-config",
    "delay-ms=0",
    "--json",
  ]);
  expect(sim.code, sim.stderr).toBe(0);
  reference = resultOf(sim.stdout).finalArraysSha256;
}, 120_000);

/** The result.json a `run --json` printed, among the other lines of `output`. */
function resultOf(output: string): { finalArraysSha256: string; rounds: { round: number }[] } {
  const line = output.match(/^\{"mode".*$/m);
  if (line === null) throw new Error(`no result.json line in:\n${output}`);
  return JSON.parse(line[0]);
}

/** A SuperLink on fixed free ports (so it can be started again on them), with `extra` flags. */
async function superlinkOn(extra: string[]) {
  const [fleetPort, controlPort] = [await freePort(), await freePort()];
  const args = [
    "superlink",
    "--insecure",
    "--fleet-api-address",
    `127.0.0.1:${fleetPort}`,
    "--control-api-address",
    `127.0.0.1:${controlPort}`,
    ...extra,
  ];
  const start = async () => {
    const process = startFedbridge(args);
    await process.waitFor(/Fleet API on port/);
    return process;
  };
  return {
    fleet: `127.0.0.1:${fleetPort}`,
    control: `127.0.0.1:${controlPort}`,
    first: await start(),
    start,
  };
}

/** Three SuperNodes of the app's three partitions. */
function nodesOf(fleet: string): Promise<FedbridgeProcess[]> {
  return Promise.all(
    [0, 1, 2].map((i) => startTestSuperNode(fleet, i, 3, ["--heartbeat-interval", "10"])),
  );
}

/** How often each node handled each round's message of `phase`, from the nodes' own logs. */
function handled(nodes: FedbridgeProcess[], phase: "trains" | "evaluates"): number[][] {
  return nodes.map((node) => {
    const counts = [0, 0, 0];
    for (const [, round] of node.output().matchAll(new RegExp(`${phase} round (\\d+)`, "g")))
      counts[Number(round) - 1] = (counts[Number(round) - 1] ?? 0) + 1;
    return counts;
  });
}

const once = [
  [1, 1, 1],
  [1, 1, 1],
  [1, 1, 1],
];

const runArgs = (control: string) => [
  "run",
  app,
  "--superlink",
  control,
  "--insecure",
  "--seed",
  "7",
  "--json",
];

describe("a SuperLink SIGKILLed mid-run", () => {
  it("restarted on its --database, resumes the run: the simulation's model, no round trained twice", async () => {
    const database = join(await tempDir(), "superlink.db");
    const superlink = await superlinkOn(["--database", database]);
    expect(superlink.first.output()).toMatch(/keeping nodes, runs and reply journals in/);
    const nodes = await nodesOf(superlink.fleet);
    const run = startFedbridge(runArgs(superlink.control));
    await Promise.all(nodes.map((node) => node.waitFor(/trains round 2/, 120_000)));
    superlink.first.child.kill("SIGKILL");
    await superlink.first.exited;
    await run.waitFor(/lost the SuperLink at .*; waiting up to \d+ s for it to come back/);
    const second = await superlink.start();
    expect(second.output()).toMatch(
      /resuming run \d+: its ServerApp runs again from the start, answered from its journal \(\d+ replies\)/,
    );
    expect(await run.exited, run.output()).toBe(0);
    const result = resultOf(run.output());
    expect(result.finalArraysSha256).toBe(reference);
    expect(result.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    // Each round shown once by the follower, though the ServerApp replayed rounds 1 and 2.
    expect(run.output().match(/round 1\/3 /g)).toHaveLength(1);
    expect(handled(nodes, "trains")).toEqual(once);
    expect(handled(nodes, "evaluates")).toEqual(once);
    for (const node of nodes) {
      expect(node.output()).toMatch(/connected to .* as node \d+ \(the same node as before\)/);
    }
  });

  it("restarted without --database, keeps nothing and says so; the follower fails saying why", async () => {
    const superlink = await superlinkOn([]);
    expect(superlink.first.output()).toMatch(
      /no --database: nodes, runs and replies are kept in memory only, and a restart of this SuperLink loses them/,
    );
    const nodes = await nodesOf(superlink.fleet);
    const run = startFedbridge(runArgs(superlink.control));
    await Promise.all(nodes.map((node) => node.waitFor(/trains round 1/, 120_000)));
    superlink.first.child.kill("SIGKILL");
    await superlink.first.exited;
    await superlink.start();
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toMatch(
      /came back without run \d+: it was restarted without --database, so its runs were lost/,
    );
    // The nodes are new nodes to it.
    await Promise.all(nodes.map((node) => node.waitFor(/connected to[\s\S]*connected to/)));
    for (const node of nodes) expect(node.output()).not.toMatch(/the same node as before/);
  });
});

describe("run --resume RUN_ID", () => {
  it("after the `run` client was killed, follows the run to its end and prints its result", async () => {
    const superlink = await superlinkOn(["--database", join(await tempDir(), "superlink.db")]);
    const nodes = await nodesOf(superlink.fleet);
    const run = startFedbridge(runArgs(superlink.control));
    const [, runId] = await run.waitFor(/started run (\d+) on /);
    await Promise.all(nodes.map((node) => node.waitFor(/trains round 1/, 120_000)));
    run.child.kill("SIGKILL");
    await run.exited;
    const resumed = await runFedbridge([
      "run",
      "--resume",
      runId as string,
      "--superlink",
      superlink.control,
      "--insecure",
      "--json",
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`following run ${runId} on `));
    expect(resultOf(resumed.stdout).finalArraysSha256).toBe(reference);
    expect(handled(nodes, "trains")).toEqual(once);
    // A finished run answers at once, with the same result.
    const again = await runFedbridge([
      "run",
      "--resume",
      runId as string,
      "--superlink",
      superlink.control,
      "--insecure",
      "--json",
    ]);
    expect(resultOf(again.stdout).finalArraysSha256).toBe(reference);
  });

  it("refuses an app beside --resume, and a run the SuperLink does not know", async () => {
    const superlink = await superlinkOn([]);
    const withApp = await runFedbridge([
      "run",
      app,
      "--resume",
      "5",
      "--superlink",
      superlink.control,
      "--insecure",
    ]);
    expect(withApp.code).not.toBe(0);
    expect(withApp.stderr).toMatch(/--resume RUN_ID takes --superlink HOST:PORT and no app/);
    const unknown = await runFedbridge([
      "run",
      "--resume",
      "5",
      "--superlink",
      superlink.control,
      "--insecure",
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no run 5/);
  });
});
