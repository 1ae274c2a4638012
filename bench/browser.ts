/**
 * Round time of a native deployment whose 2 nodes are web pages (Chromium tabs running the
 * ClientApp, talking to the SuperLink's Fleet API for browsers over fetch), against the same
 * run with 2 Node SuperNodes, measured in the same benchmark run.
 *
 * Each side has its own SuperLink (processes on loopback); the quickstart app runs with its
 * own defaults (20 features, 200 samples per node) for `BENCH_ROUNDS` rounds (default 20). A
 * round is one train and one evaluate exchange with both nodes. The figure is the median time
 * between consecutive round ends, leaving out round 1 (it loads the app). Without
 * /usr/bin/chromium the benchmark says so and exits non-zero.
 */
import { existsSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { chromium } from "playwright-core";
import { freePort } from "../src/core/free-port.ts";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "browser nodes: median round time with 2 Chromium pages vs 2 Node SuperNodes, same app";

const CHROMIUM = "/usr/bin/chromium";
const APP = "examples/quickstart";

export async function run(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.error(`bench browser: ${CHROMIUM} is missing (apt-get install -y chromium)`);
    process.exit(1);
  }
  const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
  const processes = new BenchProcesses();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    // Node SuperNodes: the baseline.
    const native = await processes.superlink();
    await processes.supernodes(native.fleet, 2);
    const nodeMs = await medianRoundMs(native.control, rounds);

    // The same run with two pages.
    const pagePort = await freePort();
    const origin = `http://127.0.0.1:${pagePort}`;
    const { control, web } = await processes.superlink(undefined, origin);
    await processes.start(
      ["web-node", APP, "--superlink", web as string, "--port", String(pagePort)],
      /web node page on/,
    );
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${origin}/?partition-id=${i}&num-partitions=2`);
      await page.waitForFunction(`document.body.dataset.status === "connected"`);
    }
    const browserMs = await medianRoundMs(control, rounds);

    console.log(`round with 2 Node SuperNodes: ${nodeMs.toFixed(1)} ms (median of ${rounds - 1})`);
    console.log(
      `round with 2 browser pages:   ${browserMs.toFixed(1)} ms (median of ${rounds - 1})`,
    );
    console.log(`browser / Node: ${(browserMs / nodeMs).toFixed(2)}`);
    console.log(
      JSON.stringify({ bench: "browser", nodeRoundMs: nodeMs, browserRoundMs: browserMs }),
    );
  } finally {
    await browser.close();
    processes.killAll();
  }
}

async function medianRoundMs(control: string, rounds: number): Promise<number> {
  const ends: number[] = [];
  await runOnSuperLink({
    address: control,
    credentials: credentials.createInsecure(),
    appDir: APP,
    runConfig: { "num-server-rounds": rounds },
    observer: { ...silentObserver, roundFinished: () => ends.push(performance.now()) },
  });
  return median(ends.slice(1).map((t, i) => t - (ends[i] as number)));
}
