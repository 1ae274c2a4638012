/**
 * A real Flower 1.28 install for interop tests: FEDBRIDGE_FLOWER_BIN names its bin folder
 * (flower-supernode, flwr, ...; see ../shared/FLOWER-PEER.md). Without it the tests that need
 * it are skipped, saying "skipped: no Flower install".
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort } from "../src/core/free-port.ts";
import { watchOutput } from "./processes.ts";

export const flowerBin = process.env.FEDBRIDGE_FLOWER_BIN;
export const SKIP_NO_FLOWER = "skipped: no Flower install";

const started = new Set<ChildProcess>();

/** The environment a Flower process runs with: its own FLWR_HOME, the bin folder on PATH. */
function flowerEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    FLWR_HOME: home,
    // Flower's processes start each other by name (flower-superexec, flwr-clientapp).
    PATH: `${flowerBin}${delimiter}${process.env.PATH ?? ""}`,
    NO_COLOR: "1",
    TERM: "dumb",
  };
}

export interface FlowerProcess {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  alive(): boolean;
}

/** Starts a Flower command from the bin folder, with its own FLWR_HOME, and waits for `ready`. */
async function startFlowerProcess(command: string, args: string[], ready: RegExp) {
  const home = await mkdtemp(join(tmpdir(), `${command}-`));
  const child = spawn(join(flowerBin as string, command), args, {
    env: flowerEnv(home),
    detached: true, // its own process group: killFlower ends its children too
  });
  started.add(child);
  const flower: FlowerProcess = {
    child,
    alive: () => child.exitCode === null && child.signalCode === null,
    ...watchOutput(child, command, 90_000),
  };
  await flower.waitFor(ready);
  return flower;
}

/** A real `flower-supernode` for partition `i` of `n`, registered once it prints its node id. */
export async function startFlowerSuperNode(fleet: string, i: number, n: number) {
  const port = await freePort();
  const args = ["--insecure", "--superlink", fleet, "--clientappio-api-address"];
  args.push(`127.0.0.1:${port}`, "--node-config", `partition-id=${i} num-partitions=${n}`);
  return startFlowerProcess("flower-supernode", args, /SuperNode ID: \d+/);
}

/** Flower's own SuperLink (in-memory state) on free ports; its Fleet and Control addresses. */
export async function startFlowerSuperLink() {
  const [serverAppIo, fleet, control] = [await freePort(), await freePort(), await freePort()];
  const process = await startFlowerProcess(
    "flower-superlink",
    [
      "--insecure",
      "--database",
      ":flwr-in-memory:",
      "--serverappio-api-address",
      `127.0.0.1:${serverAppIo}`,
      "--fleet-api-address",
      `127.0.0.1:${fleet}`,
      "--control-api-address",
      `127.0.0.1:${control}`,
    ],
    /Starting Fleet API/,
  );
  return { process, fleet: `127.0.0.1:${fleet}`, control: `127.0.0.1:${control}` };
}

/** A FLWR_HOME whose config.toml names our SuperLink's control API as connection `fb`. */
export async function flwrHome(control: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "flwr-cli-"));
  await writeFile(
    join(home, "config.toml"),
    `[superlink]\ndefault = "fb"\n\n[superlink.fb]\naddress = "${control}"\ninsecure = true\n`,
  );
  return home;
}

/** Runs the real `flwr` CLI in `cwd`; resolves with its exit code and output. */
export function flwr(
  args: string[],
  home: string,
  cwd: string,
  timeoutMs = 120_000,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      join(flowerBin as string, "flwr"),
      args,
      { cwd, env: { ...flowerEnv(home), COLUMNS: "200" }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** Kills every Flower process a test started (each with its children: its process group). */
export function killFlower(): void {
  for (const child of started)
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }
  started.clear();
}
