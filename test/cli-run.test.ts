import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeArrayRecord } from "../src/flower-api/records/serde.ts";
import { readEventFiles } from "../src/tracking/index.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { quickstartWith } from "./test-apps.ts";

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const tempDir = () => mkdtemp(join(tmpdir(), "fedbridge-test-"));

async function simulate(seed: number, extra: string[] = []) {
  const out = await tempDir();
  const run = await runFedbridge([
    "run",
    "examples/quickstart",
    "--sim",
    "--nodes",
    "4",
    "--seed",
    String(seed),
    "--out",
    out,
    ...extra,
  ]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const summary = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
  const finalArrays = await readFile(join(out, "final-arrays.pb"));
  return { run, summary, finalArrays };
}

describe("fedbridge run --sim", () => {
  it("is reproducible from the seed: same seed, same model; another seed, another model", async () => {
    const [a, b, c] = await Promise.all([simulate(7), simulate(7), simulate(8)]);
    expect(a.summary.finalArraysSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.summary.finalArraysSha256).toBe(a.summary.finalArraysSha256);
    expect(c.summary.finalArraysSha256).not.toBe(a.summary.finalArraysSha256);
    // result.json follows ../shared/CLI.md; the sha is that of final-arrays.pb.
    expect(a.summary.mode).toBe("simulation");
    expect(a.summary.rounds.map((r: { round: number }) => r.round)).toEqual([1, 2, 3]);
    expect(Object.keys(a.summary.rounds[0].train)).toEqual(["train-loss"]);
    expect(Object.keys(a.summary.rounds[0].evaluate)).toEqual(["eval-loss", "eval-acc"]);
    expect(createHash("sha256").update(a.finalArrays).digest("hex")).toBe(
      a.summary.finalArraysSha256,
    );
    expect(decodeArrayRecord(new Uint8Array(a.finalArrays)).get("0")?.shape).toEqual([20]);
    expect(a.run.stdout).toMatch(/round 3\/3 .*evaluate eval-acc/);
  });

  it("does not depend on how nodes are spread over worker threads", async () => {
    const [one, three] = await Promise.all([
      simulate(7, ["--workers", "1"]),
      simulate(7, ["--workers", "3"]),
    ]);
    expect(three.summary.finalArraysSha256).toBe(one.summary.finalArraysSha256);
  });

  it("applies --run-config overrides", async () => {
    const { summary } = await simulate(7, ["--run-config", "num-server-rounds=1"]);
    expect(summary.rounds).toHaveLength(1);
  });

  it("--json prints only result.json's JSON on stdout; the rounds go to stderr", async () => {
    const run = await runFedbridge([
      "run",
      "examples/quickstart",
      "--sim",
      "--nodes",
      "2",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.mode).toBe("simulation");
    expect(summary.rounds.map((r: { round: number }) => r.round)).toEqual([1, 2, 3]);
    expect(run.stderr).toMatch(/round 3\/3 /);
  });

  it("writes each round and an app's own SummaryWriter scalars to <out>/tb_events", async () => {
    const app = await quickstartWith("tracked-quickstart");
    const out = await tempDir();
    expect(
      (await runFedbridge(["run", app, "--sim", "--nodes", "3", "--seed", "7", "--out", out])).code,
    ).toBe(0);
    const runs = await readdir(join(out, "tb_events"));
    expect(runs.filter((r) => r.startsWith("node-"))).toHaveLength(3);
    const server = readEventFiles(join(out, "tb_events", "server")).scalars;
    expect(server.filter((s) => s.tag === "train/train-loss").map((s) => s.step)).toEqual([1, 2]);
    // Each node's app logged its partition-id in rounds 1 and 2.
    const partitions = runs
      .filter((r) => r.startsWith("node-"))
      .flatMap((r) =>
        readEventFiles(join(out, "tb_events", r))
          .scalars.filter((s) => s.tag === "app/partition")
          .map((s) => s.value),
      );
    expect(partitions.sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(server.filter((s) => s.tag === "app/planned-rounds").map((s) => s.value)).toEqual([2]);
  });

  it("goes on when a ClientApp throws on one node, and says so", async () => {
    const out = await tempDir();
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
    expect(run.stdout).toMatch(/round 1\/2 .*\(1 failed replies\)/);
    const summary = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    expect(summary.rounds).toHaveLength(2);
  });
});

describe("fedbridge run: bad input gets one clear line and a non-zero exit", () => {
  const expectOneLineFailure = (run: { code: number; stderr: string }, pattern: RegExp) => {
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  };

  it("an app folder without the fedbridge field", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "plain" }));
    expectOneLineFailure(
      await runFedbridge(["run", dir, "--sim"]),
      /package\.json has no "fedbridge" field/,
    );
  });

  it("a folder that is not an app, and one that does not exist", async () => {
    expectOneLineFailure(
      await runFedbridge(["run", await tempDir(), "--sim"]),
      /is not an app folder/,
    );
    expectOneLineFailure(await runFedbridge(["run", "/no/such/app", "--sim"]), /does not exist/);
  });

  it("a module without `app`", async () => {
    expectOneLineFailure(
      await runFedbridge(["run", "test/apps/no-app-export", "--sim"]),
      /has no export named `app`; it must export `app`, a ServerApp/,
    );
  });

  it("a malformed --run-config, and bad flag values", async () => {
    expectOneLineFailure(
      await runFedbridge(["run", "examples/quickstart", "--sim", "--run-config", "rounds"]),
      /cannot read 'rounds'; expected key=value/,
    );
    expectOneLineFailure(
      await runFedbridge(["run", "examples/quickstart", "--sim", "--nodes", "zero"]),
      /expected a positive integer, got 'zero'/,
    );
    expectOneLineFailure(
      await runFedbridge(["run", "examples/quickstart"]),
      /choose where to run: --sim/,
    );
  });

  it("a --run-config value of the wrong type, or an unknown key, before any round", async () => {
    const runWith = (config: string) =>
      runFedbridge(["run", "examples/quickstart", "--sim", "--run-config", config]);
    const cases: [string, string][] = [
      [
        "num-server-rounds=abc",
        "--run-config: num-server-rounds=abc: expected an integer (the app's default is 3)",
      ],
      [
        "num-server-rounds=2.5",
        "--run-config: num-server-rounds=2.5: expected an integer (the app's default is 3)",
      ],
      ["lr=fast", "--run-config: lr=fast: expected a number (the app's default is 0.1)"],
      ["foo=1", "--run-config: unknown key 'foo' (the app's keys: num-server-rounds, local-epochs"],
    ];
    const runs = await Promise.all(cases.map(([config]) => runWith(config)));
    runs.forEach((run, i) => {
      expectOneLineFailure(run, new RegExp(escapeRegExp(cases[i]?.[1] ?? "")));
      expect(run.stdout).not.toMatch(/round \d/);
    });
  });

  it("a round count that is not positive", async () => {
    const runs = await Promise.all(
      ["0", "-1"].map((n) =>
        runFedbridge([
          "run",
          "examples/quickstart",
          "--sim",
          "--run-config",
          `num-server-rounds=${n}`,
        ]),
      ),
    );
    runs.forEach((run, i) => {
      expectOneLineFailure(
        run,
        new RegExp(`numRounds must be a positive integer, got ${["0", "-1"][i]}`),
      );
      expect(run.stdout).not.toMatch(/round \d/);
    });
  });

  it("--help on the command", async () => {
    const run = await runFedbridge(["run", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--run-config <pairs>");
  });
});
