/**
 * examples/mnist trained by 2 web pages: the held-out accuracy after 5 rounds (goal: at least
 * 0.90), the tfjs backend each page picked, and the median round time (the accuracy goal is
 * also a test in test/web-node.browser.test.ts, with wasm). Needs /usr/bin/chromium.
 * BENCH_TFJS_BACKEND (default auto) picks the pages' TensorFlow.js backend, e.g. wasm.
 */
import { existsSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { chromium, type Page } from "playwright-core";
import { freePort } from "../src/core/free-port.ts";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "examples/mnist on 2 browser pages: accuracy after 5 rounds (goal ≥ 0.90) and round time";

const CHROMIUM = "/usr/bin/chromium";
const APP = "examples/mnist";

export async function run(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.error(`bench browser-mnist: ${CHROMIUM} is missing (apt-get install -y chromium)`);
    process.exit(1);
  }
  const processes = new BenchProcesses();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const pagePort = await freePort();
    const origin = `http://127.0.0.1:${pagePort}`;
    const { control, web } = await processes.superlink(undefined, origin);
    const bundling = performance.now();
    await processes.start(
      [
        "web-node",
        APP,
        "--superlink",
        web as string,
        "--port",
        String(pagePort),
        "--tfjs-backend",
        process.env.BENCH_TFJS_BACKEND ?? "auto",
      ],
      /web node page on/,
    );
    console.log(
      `web-node bundled and serving in ${((performance.now() - bundling) / 1000).toFixed(1)} s`,
    );
    const pages: Page[] = [];
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage();
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") console.log(`[page ${i}] ${m.text()}`);
      });
      await page.goto(`${origin}/?partition-id=${i}&num-partitions=2`);
      await page.waitForFunction(`document.body.dataset.status === "connected"`, undefined, {
        timeout: 120_000,
      });
      pages.push(page);
    }
    const ends: number[] = [];
    const accuracies: number[] = [];
    await runOnSuperLink({
      address: control,
      credentials: credentials.createInsecure(),
      appDir: APP,
      runConfig: { "num-server-rounds": 5 },
      observer: {
        ...silentObserver,
        roundFinished: (summary) => {
          ends.push(performance.now());
          // The ServerApp's evaluation on the 2,000 held-out digits.
          const accuracy = summary.serverEvaluate?.get("accuracy");
          if (typeof accuracy === "number") accuracies.push(accuracy);
        },
      },
    });
    const backends = await Promise.all(
      pages.map((page) => page.evaluate("document.body.dataset.notice ?? 'unknown'")),
    );
    const accuracy = accuracies.at(-1) ?? Number.NaN;
    const roundMs = median(ends.slice(1).map((t, i) => t - (ends[i] as number)));
    console.log(`the pages' ClientApps: ${backends.join(", ")}`);
    console.log(`eval-acc by round: ${accuracies.map((a) => a.toFixed(4)).join(", ")}`);
    console.log(`held-out accuracy after 5 rounds: ${accuracy.toFixed(4)} (goal ≥ 0.90)`);
    console.log(`median round: ${roundMs.toFixed(0)} ms`);
    console.log(JSON.stringify({ bench: "browser-mnist", accuracy, roundMs, backends }));
    if (!(accuracy >= 0.9)) process.exitCode = 1;
  } finally {
    await browser.close();
    processes.killAll();
  }
}
