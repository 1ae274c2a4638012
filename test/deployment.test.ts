import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { GrpcClient } from "../src/core/wire/grpc-client.ts";
import { Control } from "../src/gen/fedbridge/v1/control_pb.ts";
import { readEventFiles } from "../src/tracking/index.ts";
import { killAll, startFedbridge, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { quickstartWith } from "./test-apps.ts";

afterAll(killAll);

const tempDir = () => mkdtemp(join(tmpdir(), "fedbridge-deploy-"));

/** A SuperLink with `n` SuperNodes connected. */
async function startTestSuperLinkWithNodes(n: number) {
  const superlink = await startTestSuperLink();
  const nodes = await Promise.all(
    Array.from({ length: n }, (_, i) => startTestSuperNode(superlink.fleet, i, n)),
  );
  return { ...superlink, nodes };
}

describe("native deployment (SuperLink + SuperNodes, real processes on loopback)", () => {
  it("gives the same final model as the simulation, bit for bit", async () => {
    const { process: superlink, fleet, control } = await startTestSuperLink();
    const nodes = await Promise.all(
      [0, 1, 2].map((i) => startTestSuperNode(fleet, i, 3, ["--heartbeat-interval", "5"])),
    );
    const [simOut, depOut] = await Promise.all([tempDir(), tempDir()]);
    const [sim, dep] = await Promise.all([
      runFedbridge([
        "run",
        "examples/quickstart",
        "--sim",
        "--nodes",
        "3",
        "--seed",
        "7",
        "--out",
        simOut,
      ]),
      runFedbridge([
        "run",
        "examples/quickstart",
        "--superlink",
        control,
        "--insecure",
        "--seed",
        "7",
        "--out",
        depOut,
      ]),
    ]);
    expect(dep.stderr).toBe("");
    expect(dep.code).toBe(0);
    expect(sim.code).toBe(0);
    const simResult = JSON.parse(await readFile(join(simOut, "result.json"), "utf8"));
    const depResult = JSON.parse(await readFile(join(depOut, "result.json"), "utf8"));
    expect(depResult.mode).toBe("deployment");
    expect(depResult.finalArraysSha256).toBe(simResult.finalArraysSha256);
    expect(depResult.rounds).toEqual(simResult.rounds);
    for (const node of nodes) node.child.kill("SIGTERM");
    await Promise.all(nodes.map((n) => n.exited));
    superlink.child.kill("SIGTERM");
    expect(await superlink.exited).toBe(0);
  });

  it("finishes a run when a node is SIGKILLed mid-round; the node is reported unavailable and, restarted, takes part again", async () => {
    const app = await quickstartWith("slow-quickstart");
    const interval = 1;
    const { fleet, control } = await startTestSuperLink();
    const nodes = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        startTestSuperNode(fleet, i, 4, ["--heartbeat-interval", String(interval)]),
      ),
    );
    // Each round waits for 4 connected nodes, so a round after the kill waits for the
    // restarted node, however long it takes to start on a loaded machine.
    const run = startFedbridge([
      "run",
      app,
      "--superlink",
      control,
      "--insecure",
      "--verbose",
      "--run-config",
      "min-available-nodes=4",
    ]);
    await run.waitFor(/\[ROUND 2\/4\][\s\S]*configure_train: Sampled 4 nodes/);
    const victim = nodes[3];
    victim?.child.kill("SIGKILL");
    // Its training ends without it once its missed heartbeats say it is gone: how soon is
    // checked on fake timers (node-registry.test.ts); here, under load, it may take seconds.
    await run.waitFor(
      /error in reply from node \d+: NODE_UNAVAILABLE: node \d+ failed to report a heartbeat/,
    );
    const restartedAt = run.output().length;
    const restarted = await startTestSuperNode(fleet, 3, 4, [
      "--heartbeat-interval",
      String(interval),
    ]);
    expect(await run.exited).toBe(0);
    // A later round ran on four nodes again, the restarted one among them.
    expect(run.output().slice(restartedAt)).toMatch(
      /aggregate_train: Received 4 results and 0 failures/,
    );
    expect(restarted.output()).toMatch(/loaded slow-quickstart/);
  });

  it("SIGTERM of `run --superlink` stops the run on the SuperLink and exits non-zero saying so", async () => {
    const app = await quickstartWith("slow-quickstart");
    const { control } = await startTestSuperLinkWithNodes(2);
    const run = startFedbridge([
      "run",
      app,
      "--superlink",
      control,
      "--insecure",
      "--verbose",
      "--run-config",
      "num-server-rounds=10",
    ]);
    const [, runId] = await run.waitFor(/started run (\d+) on /);
    await run.waitFor(/\[ROUND 1\/10\]/);
    run.child.kill("SIGTERM");
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toMatch(/run \d+ stopped: stopped by the user \(on SIGTERM\) \[aborted\]/);
    expect(run.output()).not.toMatch(/round 10\/10/);
    // Another follower of the run hears that it ended, stopped.
    const client = new GrpcClient(Control, control, credentials.createInsecure());
    let finished: { status: string; details: string } | undefined;
    for await (const { event } of client.serverStream(Control.method.streamRun, {
      runId: BigInt(runId as string),
    })) {
      if (event.case === "runFinished") finished = event.value;
    }
    client.close();
    expect(finished).toMatchObject({ status: "stopped", details: "stopped by the user" });
  });

  it("reconnects a SuperNode when its SuperLink restarts, and serves runs on the new one", async () => {
    const [fleetPort, controlPort] = [await freePort(), await freePort()];
    const superlinkArgs = [
      "superlink",
      "--insecure",
      "--fleet-api-address",
      `127.0.0.1:${fleetPort}`,
      "--control-api-address",
      `127.0.0.1:${controlPort}`,
    ];
    const first = startFedbridge(superlinkArgs);
    await first.waitFor(/Fleet API on port/);
    const nodes = await Promise.all(
      [0, 1].map((i) =>
        startTestSuperNode(`127.0.0.1:${fleetPort}`, i, 2, ["--heartbeat-interval", "2"]),
      ),
    );
    first.child.kill("SIGKILL");
    await Promise.all(nodes.map((n) => n.waitFor(/connection to .* lost .* retrying in/)));
    const second = startFedbridge(superlinkArgs);
    await second.waitFor(/Fleet API on port/);
    await Promise.all(nodes.map((n) => n.waitFor(/connected to [\s\S]*connected to/, 30_000)));
    const run = await runFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      `127.0.0.1:${controlPort}`,
      "--insecure",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/round 3\/3/);
  });

  it("serves several runs on one SuperLink at once, each with its own result", async () => {
    const { fleet, control } = await startTestSuperLink();
    await Promise.all([0, 1].map((i) => startTestSuperNode(fleet, i, 2)));
    const runs = await Promise.all(
      [7, 8].map(async (seed) => {
        const out = await tempDir();
        const run = await runFedbridge([
          "run",
          "examples/quickstart",
          "--superlink",
          control,
          "--insecure",
          "--seed",
          String(seed),
          "--out",
          out,
        ]);
        return { run, result: JSON.parse(await readFile(join(out, "result.json"), "utf8")) };
      }),
    );
    for (const { run } of runs) expect(run.code).toBe(0);
    const sims = await Promise.all(
      [7, 8].map(async (seed) => {
        const sim = await runFedbridge([
          "run",
          "examples/quickstart",
          "--sim",
          "--nodes",
          "2",
          "--seed",
          String(seed),
          "--json",
        ]);
        return JSON.parse(sim.stdout).finalArraysSha256;
      }),
    );
    expect(runs.map((r) => r.result.finalArraysSha256)).toEqual(sims);
  });

  it("writes each node's app SummaryWriter scalars to the run's output folder", async () => {
    const app = await quickstartWith("tracked-quickstart");
    const { fleet, control } = await startTestSuperLink();
    await Promise.all([0, 1, 2].map((i) => startTestSuperNode(fleet, i, 3)));
    const out = await tempDir();
    const run = await runFedbridge([
      "run",
      app,
      "--superlink",
      control,
      "--insecure",
      "--seed",
      "7",
      "--out",
      out,
    ]);
    expect(run.code).toBe(0);
    const nodes = (await readdir(join(out, "tb_events"))).filter((r) => r.startsWith("node-"));
    const partitions = nodes.flatMap((r) =>
      readEventFiles(join(out, "tb_events", r))
        .scalars.filter((s) => s.tag === "app/partition")
        .map((s) => s.value),
    );
    expect(partitions.sort()).toEqual([0, 0, 1, 1, 2, 2]);
    // The ServerApp's own writer ran in the SuperLink; its scalar came back with the run.
    const server = readEventFiles(join(out, "tb_events", "server")).scalars;
    expect(server.filter((s) => s.tag === "app/planned-rounds").map((s) => s.value)).toEqual([2]);
  });
});
