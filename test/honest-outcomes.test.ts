import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, startFedbridge, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { quickstartWith } from "./test-apps.ts";

// Runs that go wrong say so: exit codes, reasons in the default output, result.json's reply
// counts, waits that say what they wait for, and handlers stopped at their deadline.

afterAll(killAll);

/** The quickstart, with a client module that has no `app`. */
const noClientApp = async () =>
  quickstartWith("flaky", {
    "package.json": await readFile("examples/quickstart/package.json", "utf8"),
    "client.ts": "export const notTheApp = 1;\n",
  });
const alwaysThrows = () =>
  quickstartWith("slow-quickstart", {
    "slow-client.ts": `import { ClientApp } from "fedbridge";
export const app = new ClientApp().train(() => { throw new RangeError("no data here"); });
`,
  });

describe("simulation", () => {
  it("fails when every reply of a round failed, naming the nodes' reason once", async () => {
    const run = await runFedbridge(["run", await alwaysThrows(), "--sim", "--nodes", "3"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /round 1: none of the 3 train replies succeeded: node \d+: CLIENT_APP_RAISED_EXCEPTION: no data here/,
    );
    expect(run.stdout).not.toMatch(/done in/);
  });

  it("records each round's replies in result.json and shows each distinct failure once", async () => {
    const out = await mkdtemp(join(tmpdir(), "fedbridge-honest-"));
    const run = await runFedbridge([
      "run",
      "test/apps/flaky",
      "--sim",
      "--nodes",
      "3",
      "--out",
      out,
    ]);
    expect(run.code).toBe(0);
    const shown = run.stderr.match(/CLIENT_APP_RAISED_EXCEPTION: partition 1 has no data today/g);
    expect(shown).toHaveLength(1);
    const result = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    for (const round of result.rounds) {
      expect(round.replies.train).toMatchObject({ succeeded: 2, failed: 1 });
      expect(round.replies.train.errors).toEqual([
        {
          node: expect.stringMatching(/^node-\d+$/),
          code: "CLIENT_APP_RAISED_EXCEPTION",
          reason: expect.stringMatching(/partition 1 has no data today/),
        },
      ]);
      expect(round.replies.evaluate).toMatchObject({ succeeded: 3, failed: 0, errors: [] });
    }
  });

  it("answers a handler that never returns with an error at its TTL", async () => {
    const stuck = await quickstartWith("stuck");
    const run = await runFedbridge(["run", stuck, "--sim", "--nodes", "2", "--verbose"]);
    expect(run.code).toBe(0);
    const timedOut = run.stderr.match(
      /reply from node \d+: CLIENT_APP_CRASHED: the ClientApp did not reply within the message's TTL \(8 s\)/g,
    );
    expect(timedOut).toHaveLength(2);
  });

  it("fails at once when it has fewer nodes than the strategy needs, saying why", async () => {
    const run = await runFedbridge(["run", "examples/quickstart", "--sim", "--nodes", "1"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /the strategy needs 2 nodes \(minAvailableNodes 2\), but the simulation has 1 node/,
    );
  });
});

describe("native deployment", () => {
  it("fails a run whose ClientApp cannot load on the nodes, with the nodes' reason", async () => {
    const { fleet, control } = await startTestSuperLink();
    await Promise.all([0, 1].map((i) => startTestSuperNode(fleet, i, 2)));
    const run = await runFedbridge([
      "run",
      await noClientApp(),
      "--superlink",
      control,
      "--insecure",
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /the ClientApp cannot run at node \d+: LOAD_CLIENT_APP_EXCEPTION: .*no export named `app`/,
    );
  });

  it("says what it waits for while too few nodes are connected, then runs", async () => {
    const { fleet, control } = await startTestSuperLink();
    await startTestSuperNode(fleet, 0, 2);
    const run = startFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      control,
      "--insecure",
    ]);
    await run.waitFor(/waiting for 2 nodes to connect \(minAvailableNodes 2\): 1 connected/);
    await startTestSuperNode(fleet, 1, 2);
    expect(await run.exited).toBe(0);
  });

  it("answers a handler that never returns with an error at its TTL; the nodes then serve the next run", async () => {
    const { fleet, control } = await startTestSuperLink();
    await Promise.all([0, 1].map((i) => startTestSuperNode(fleet, i, 2)));
    const stuck = await quickstartWith("stuck");
    const run = await runFedbridge([
      "run",
      stuck,
      "--superlink",
      control,
      "--insecure",
      "--verbose",
    ]);
    expect(run.code).toBe(0);
    const timedOut = run.stderr.match(
      /reply from node \d+: CLIENT_APP_CRASHED: the ClientApp did not reply within the message's TTL \(8 s\)/g,
    );
    expect(timedOut).toHaveLength(2);
    const next = await runFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      control,
      "--insecure",
    ]);
    expect(next.code).toBe(0);
  });

  it("stops a run's handlers on the nodes when the run is stopped (SIGINT), so the next run completes", async () => {
    const { fleet, control } = await startTestSuperLink();
    const nodes = await Promise.all([0, 1].map((i) => startTestSuperNode(fleet, i, 2)));
    const stuck = await quickstartWith("stuck");
    const run = startFedbridge([
      "run",
      stuck,
      "--superlink",
      control,
      "--insecure",
      "--run-config",
      "ttl=3600",
    ]);
    await Promise.all(nodes.map((node) => node.waitFor(/loaded stuck/)));
    run.child.kill("SIGINT");
    expect(await run.exited).not.toBe(0);
    const next = await runFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      control,
      "--insecure",
    ]);
    expect(next.code).toBe(0);
    for (const node of nodes)
      expect(node.output()).toMatch(/was stopped: its message .* is dropped/);
  });
});
