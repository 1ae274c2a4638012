/**
 * A Python ServerApp (real Flower 1.28) with 2 real flower-supernodes, 3 FedAvg rounds of the
 * numpy-only app, on Flower's own SuperLink and then on ours, in one run: the app prints each
 * round's seconds (configure_train to aggregate_train). Needs FEDBRIDGE_FLOWER_BIN (see
 * ../shared/FLOWER-PEER.md); without it, says so and measures nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpackFolder } from "../src/core/folder-bundle.ts";
import { freePort } from "../src/core/free-port.ts";

export const description =
  "Python ServerApp + 2 real flower-supernodes, s/round: Flower's SuperLink vs ours (needs FEDBRIDGE_FLOWER_BIN)";

const ROUNDS = 3;

export async function run(): Promise<void> {
  const bin = process.env.FEDBRIDGE_FLOWER_BIN;
  if (!bin) {
    console.log("flower-serverapp: skipped: no Flower install (set FEDBRIDGE_FLOWER_BIN)");
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "bench-flower-serverapp-"));
  const children: ChildProcess[] = [];
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const start = (cmd: string, args: string[], home: string, cwd?: string) => {
    const child = spawn(cmd, args, { env: { ...env, FLWR_HOME: join(work, home) }, cwd });
    let out = "";
    child.stdout?.on("data", (c) => (out += c));
    child.stderr?.on("data", (c) => (out += c));
    children.push(child);
    const waitFor = (pattern: RegExp, what: string, ms = 120_000) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} after ${ms} ms:\n${out}`)), ms);
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          }
        };
        child.stdout?.on("data", check);
        child.stderr?.on("data", check);
        check();
      });
    return { child, waitFor, output: () => out };
  };
  const nodes = async (fleet: string, tag: string) => {
    for (const i of [0, 1]) {
      const args = ["--insecure", "--superlink", fleet, "--clientappio-api-address"];
      args.push(
        `127.0.0.1:${await freePort()}`,
        "--node-config",
        `partition-id=${i} num-partitions=2`,
      );
      start(join(bin, "flower-supernode"), args, `${tag}-n${i}`);
    }
  };
  const rounds = (output: string) =>
    [...output.matchAll(/PYQUICK_ROUND \d+ secs=([\d.]+)/g)].map((m) => Number(m[1]));
  try {
    const app = await pyquickApp(work);
    // Flower's SuperLink (it starts its own flower-superexec), then `flwr run`.
    const [sa, fleet, control] = [await freePort(), await freePort(), await freePort()];
    const flower = start(
      join(bin, "flower-superlink"),
      ["--insecure", "--database", ":flwr-in-memory:"]
        .concat(["--serverappio-api-address", `127.0.0.1:${sa}`])
        .concat(["--fleet-api-address", `127.0.0.1:${fleet}`])
        .concat(["--control-api-address", `127.0.0.1:${control}`]),
      "flower-link",
    );
    await flower.waitFor(/Flower Deployment Runtime: Starting Control API/, "Flower's SuperLink");
    await nodes(`127.0.0.1:${fleet}`, "flower");
    const cli = join(work, "cli");
    mkdirSync(cli, { recursive: true });
    writeFileSync(
      join(cli, "config.toml"),
      `[superlink.b]\naddress = "127.0.0.1:${control}"\ninsecure = true\n`,
    );
    const flowerRun = start(
      join(bin, "flwr"),
      ["run", ".", "b", "--stream", "--run-config", `num-server-rounds=${ROUNDS}`],
      "cli",
      app,
    );
    await flowerRun.waitFor(/PYQUICK_RESULT/, "result on Flower's SuperLink", 300_000);
    const theirs = rounds(flowerRun.output());
    // Flower's nodes' own children (flower-superexec) watch their parent's pid and follow it.
    for (const child of children.splice(0)) child.kill("SIGKILL");

    // Ours: the same app, nodes and rounds; `fedbridge run` follows it.
    const ours = start(
      process.execPath,
      ["bin/fedbridge.mjs", "superlink", "--insecure"].concat([
        "--fleet-api-address",
        "127.0.0.1:0",
        "--control-api-address",
        "127.0.0.1:0",
      ]),
      "ours-link",
      process.cwd(),
    );
    const [, ourFleet, ourControl] = await ours.waitFor(
      /Fleet API on port (\d+), control API on port (\d+)/,
      "our SuperLink",
    );
    await nodes(`127.0.0.1:${ourFleet}`, "ours");
    const ourRun = start(
      process.execPath,
      [
        "bin/fedbridge.mjs",
        "run",
        app,
        "--superlink",
        `127.0.0.1:${ourControl}`,
        "--insecure",
      ].concat(["--run-config", `num-server-rounds=${ROUNDS}`, "--verbose"]),
      "ours-cli",
      process.cwd(),
    );
    await ourRun.waitFor(/PYQUICK_RESULT/, "result on our SuperLink", 300_000);
    const mine = rounds(ourRun.output());
    const median = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    console.log(`rounds (s), Flower's SuperLink: ${theirs.join(" ")}; median ${median(theirs)}`);
    console.log(`rounds (s), our SuperLink:      ${mine.join(" ")}; median ${median(mine)}`);
    console.log(`ours / Flower's (median): ${(median(mine) / median(theirs)).toFixed(2)}`);
  } finally {
    for (const child of children) child.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  }
}

/** The numpy-only app of the ServerAppIo transcript, unpacked into `work`. */
async function pyquickApp(work: string): Promise<string> {
  const transcript = new URL(
    "../../shared/fixtures/flower-1.28/serverappio-transcript/calls.decoded.jsonl",
    import.meta.url,
  );
  const line = readFileSync(transcript, "utf8")
    .split("\n")
    .find((l) => l.includes("/PullAppInputs"));
  const inputs = JSON.parse(line ?? "{}") as { response: { fab: { content: string } } };
  const fab = new Uint8Array(Buffer.from(inputs.response.fab.content, "base64"));
  const hash = createHash("sha256").update(fab).digest("hex");
  return unpackFolder(fab, hash, join(work, "pyquick"));
}
