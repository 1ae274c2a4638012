// A real Flower 1.28 ServerApp (flwr-serverapp) on our SuperLink, driving real Flower nodes.
// Runs when FEDBRIDGE_FLOWER_BIN names a folder with Flower's executables (see
// ../shared/FLOWER-PEER.md); CI has none and skips it.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { unpackFolder } from "../src/core/folder-bundle.ts";
import { freePort } from "../src/core/free-port.ts";
import { killAll, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";

const flowerBin = process.env.FEDBRIDGE_FLOWER_BIN;
if (!flowerBin) console.log("flower-serverapp.test.ts: skipped: no Flower install");

const work = mkdtempSync(join(tmpdir(), "flower-serverapp-"));
const nodes: ChildProcess[] = [];
afterAll(async () => {
  // Nodes first, while the SuperLink still answers their goodbye; SIGKILL if they linger.
  await Promise.all(
    nodes.map(async (node) => {
      if (node.exitCode !== null || node.signalCode !== null) return;
      const exited = new Promise((resolve) => node.once("exit", resolve));
      node.kill("SIGTERM");
      const late = setTimeout(() => node.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(late);
    }),
  );
  killAll();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

/** The numpy-only app of the ServerAppIo transcript (node p returns p+1, 10(p+1) examples). */
async function pyquickApp(): Promise<string> {
  const transcript = new URL(
    "../../shared/fixtures/flower-1.28/serverappio-transcript/calls.decoded.jsonl",
    import.meta.url,
  );
  const inputs = readFileSync(transcript, "utf8")
    .split("\n")
    .filter((line) => line.includes("/PullAppInputs"))
    .map((line) => JSON.parse(line) as { response: { fab: { content: string } } })[0];
  const fab = new Uint8Array(Buffer.from(inputs?.response.fab.content ?? "", "base64"));
  const dir = join(work, `pyquick-${Math.random().toString(36).slice(2)}`);
  return unpackFolder(fab, createHash("sha256").update(fab).digest("hex"), dir);
}

/**
 * The same app with a TypeScript twin of its ClientApp (package.json, client.ts), so one of
 * our SuperNodes can take part; its TypeScript ServerApp only says it is not the one to run.
 */
async function pyquickWithTwin(): Promise<string> {
  const dir = await pyquickApp();
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  write(
    "package.json",
    JSON.stringify({
      name: "pyquick",
      type: "module",
      fedbridge: { serverapp: "./server.ts", clientapp: "./client.ts", config: {} },
    }),
  );
  write(
    "server.ts",
    [
      'import { ServerApp } from "fedbridge";',
      "export const app = new ServerApp();",
      'app.main(async () => { throw new Error("run with --python-serverapp"); });',
    ].join("\n"),
  );
  write(
    "client.ts",
    [
      'import { ArrayRecord, ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";',
      "// pyquick.client_app: node p answers with the model filled with p+1, num-examples 10(p+1).",
      "export const app = new ClientApp().train((msg, context) => {",
      '  const p = Number(context.nodeConfig["partition-id"]);',
      '  const arrays = msg.content.arrayRecords.get("arrays") ?? new ArrayRecord();',
      "  const filled = ArrayRecord.fromTypedArrays(",
      "    [...arrays.values()].map((a) => ({",
      "      values: new Float32Array(a.toTypedArray().length).fill(p + 1),",
      "      shape: a.shape,",
      "    })),",
      "  );",
      '  const metrics = new MetricRecord({ "num-examples": 10 * (p + 1), p });',
      "  return new Message(new RecordDict({ arrays: filled, metrics }), { replyTo: msg });",
      "});",
    ].join("\n"),
  );
  return dir;
}

/** A real flower-supernode for partition `i` of `n`, with a home of its own. */
async function flowerSupernode(fleet: string, i: number, n: number): Promise<ChildProcess> {
  const bin = flowerBin as string;
  const child = spawn(
    join(bin, "flower-supernode"),
    [
      "--insecure",
      "--superlink",
      fleet,
      "--clientappio-api-address",
      `127.0.0.1:${await freePort()}`,
      "--node-config",
      `partition-id=${i} num-partitions=${n}`,
    ],
    {
      // It starts flower-superexec by name.
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FLWR_HOME: join(work, `n${i}`) },
      stdio: "ignore",
    },
  );
  nodes.push(child);
  return child;
}

describe.skipIf(!flowerBin)("a Python ServerApp (real Flower 1.28) on our SuperLink", () => {
  it("drives 2 real flower-supernodes through 2 FedAvg rounds to 1.6666667 (float32)", async () => {
    const app = await pyquickApp();
    const { fleet, control, process: link } = await startTestSuperLink();
    await flowerSupernode(fleet, 0, 2);
    await flowerSupernode(fleet, 1, 2);
    const run = await runFedbridge(
      [
        "run",
        app,
        "--superlink",
        control,
        "--insecure",
        "--run-config",
        "num-server-rounds=2",
        "--verbose",
      ],
      180_000,
    );
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(0);
    // The ServerApp's own print, uploaded by PushLogs: float32 1.6666667 as a Python float.
    expect(output).toContain("PYQUICK_RESULT rounds=2");
    expect(output).toContain(`final=[${Array(4).fill("1.6666667461395264").join(", ")}]`);
    expect(output).toContain("aggregate_train: Received 2 results and 0 failures");
    expect(link.output()).not.toMatch(/error/i);
  }, 240_000);

  it("drives a real flower-supernode and one of ours (TypeScript ClientApp) to the same value", async () => {
    const app = await pyquickWithTwin();
    const { fleet, control } = await startTestSuperLink();
    await flowerSupernode(fleet, 0, 2);
    await startTestSuperNode(fleet, 1, 2);
    const run = await runFedbridge(
      [
        "run",
        app,
        "--superlink",
        control,
        "--insecure",
        "--python-serverapp",
        "--run-config",
        "num-server-rounds=2",
        "--verbose",
      ],
      180_000,
    );
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(0);
    expect(output).toContain(`final=[${Array(4).fill("1.6666667461395264").join(", ")}]`);
    expect(output).toContain("aggregate_train: Received 2 results and 0 failures");
  }, 240_000);

  it("runs it through Flower's own flower-superexec with --isolation process", async () => {
    const app = await pyquickApp();
    const serverAppIo = `127.0.0.1:${await freePort()}`;
    const { fleet, control } = await startTestSuperLink([
      "--isolation",
      "process",
      "--serverappio-api-address",
      serverAppIo,
    ]);
    // The launcher Flower's SuperLink would start, pointed at ours.
    const bin = flowerBin as string;
    const superexec = spawn(
      join(bin, "flower-superexec"),
      ["--insecure", "--plugin-type", "serverapp", "--appio-api-address", serverAppIo],
      {
        // It starts flwr-serverapp by name; without it, the run fails for want of heartbeats.
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FLWR_HOME: join(work, "se") },
        stdio: "ignore",
      },
    );
    nodes.push(superexec);
    await flowerSupernode(fleet, 0, 2);
    await flowerSupernode(fleet, 1, 2);
    const run = await runFedbridge(
      [
        "run",
        app,
        "--superlink",
        control,
        "--insecure",
        "--run-config",
        "num-server-rounds=2",
      ].concat(["--verbose"]),
      180_000,
    );
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(0);
    expect(output).toMatch(/is pending: waiting for a ServerApp launcher \(flower-superexec/);
    expect(output).toContain(`final=[${Array(4).fill("1.6666667461395264").join(", ")}]`);
  }, 240_000);
});
