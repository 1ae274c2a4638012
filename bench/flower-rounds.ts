/**
 * Round time of the numpy-only Flower app (test/apps/pyquick) with 2 real flower-supernodes
 * (FEDBRIDGE_FLOWER_BIN), on Flower's own SuperLink and on ours, side by side in one run.
 *
 * Flower's SuperLink runs the app's Python ServerApp (`flwr run . --stream`); ours runs its
 * TypeScript twin (`fedbridge run --superlink`; a Python ServerApp needs ServerAppIo). Both
 * drive the same Python ClientApps. A round's time is (T(R) - T(1)) / (R - 1) of whole runs of
 * R and 1 rounds, so start-up (Python imports, the CLI, app install) cancels out. Flower's
 * SuperLink answers PullMessages at once and its SuperNode polls about every 3 s; ours holds
 * the call until an instruction is there.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import {
  flowerBin,
  flwr,
  flwrHome,
  killFlower,
  SKIP_NO_FLOWER,
  startFlowerSuperLink,
  startFlowerSuperNode,
} from "../test/flower-peer.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "Flower's own SuperLink vs ours: round time of a numpy app on 2 real flower-supernodes";

const APP = "test/apps/pyquick";

export async function run(): Promise<void> {
  if (flowerBin === undefined) {
    console.log(`flower-rounds: ${SKIP_NO_FLOWER} (set FEDBRIDGE_FLOWER_BIN)`);
    return;
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const app = await mkdtemp(join(tmpdir(), "bench-flower-rounds-"));
  await cp(APP, app, { recursive: true });
  const processes = new BenchProcesses();
  try {
    // Flower's own SuperLink, Python ServerApp.
    const flower = await startFlowerSuperLink();
    await startFlowerSuperNode(flower.fleet, 0, 2);
    await startFlowerSuperNode(flower.fleet, 1, 2);
    const home = await flwrHome(flower.control);
    const flowerRun = async (r: number) => {
      const t = performance.now();
      const args = ["run", ".", "fb", "--stream", "--run-config", `num-server-rounds=${r}`];
      const { code, output } = await flwr(args, home, app, 600_000);
      if (code !== 0 || !output.includes("PYQUICK_RESULT"))
        throw new Error(`flwr run on Flower's SuperLink failed:\n${output}`);
      return performance.now() - t;
    };
    const flowerMs = await perRound(flowerRun, rounds);
    killFlower();

    // Our SuperLink, TypeScript ServerApp, the same Python ClientApps.
    const ours = await processes.superlink();
    await startFlowerSuperNode(ours.fleet, 0, 2);
    await startFlowerSuperNode(ours.fleet, 1, 2);
    const oursRun = async (r: number) => {
      const t = performance.now();
      await runOnSuperLink({
        address: ours.control,
        credentials: credentials.createInsecure(),
        appDir: app,
        runConfig: { "num-server-rounds": r },
      });
      return performance.now() - t;
    };
    const oursMs = await perRound(oursRun, rounds);

    console.log(`Flower's SuperLink: ${(flowerMs / 1000).toFixed(2)} s a round`);
    console.log(`fedbridge SuperLink: ${(oursMs / 1000).toFixed(2)} s a round`);
    console.log(`ours takes ${(oursMs / flowerMs).toFixed(2)}x Flower's round time`);
    console.log(JSON.stringify({ bench: "flower-rounds", rounds, flowerMs, oursMs }));
  } finally {
    killFlower();
    processes.killAll();
    await rm(app, { recursive: true, force: true });
  }
}

/** (T(rounds) - T(1)) / (rounds - 1) for a run function of the number of rounds, in ms. */
async function perRound(runFor: (r: number) => Promise<number>, rounds: number): Promise<number> {
  const one = await runFor(1);
  const many = await runFor(rounds);
  return (many - one) / (rounds - 1);
}
