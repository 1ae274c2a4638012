import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { killAll, startFedbridge, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { quickstartWith } from "./test-apps.ts";

/** Debian's chromium (`apt-get install chromium`); playwright never downloads a browser here. */
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `web-node browser test skipped: ${CHROMIUM} is missing (install it: apt-get install -y chromium)`,
  );
}

const tempDir = () => mkdtemp(join(tmpdir(), "fedbridge-web-"));

/**
 * A SuperLink that serves browsers, and `fedbridge web-node APP` serving its page from an
 * allowed origin. Heartbeats every 2 s, so a closed tab is lost within about 4 s.
 */
async function startWebFederation(app: string, webNodeArgs: string[] = []) {
  const pagePort = await freePort();
  const origin = `http://127.0.0.1:${pagePort}`;
  const superlink = await startTestSuperLink([
    "--web-address",
    "127.0.0.1:0",
    "--web-origin",
    origin,
  ]);
  const [, webPort] = await superlink.process.waitFor(/Fleet API for browsers on port (\d+)/);
  const web = `http://127.0.0.1:${webPort}`;
  const server = startFedbridge([
    "web-node",
    app,
    "--superlink",
    web,
    "--port",
    String(pagePort),
    "--heartbeat-interval",
    "2",
    ...webNodeArgs,
  ]);
  // Bundling takes seconds on a quiet machine; a minute or more under a loaded test suite
  // (examples/mnist's ClientApp holds the 10,000 digits).
  const [, url] = await server.waitFor(/web node page on (http:\/\/\S+)/, 240_000);
  return { ...superlink, web, url: url as string, server };
}

/** A JSON replacer that keeps 12 significant digits of each fractional number. */
const roundTo12 = (_key: string, value: unknown) =>
  typeof value === "number" && !Number.isInteger(value) ? Number(value.toPrecision(12)) : value;

// Page-side code is written as expressions (this project type-checks without the DOM lib).
const STATUS = "document.body.dataset.status";

describe.skipIf(!hasChromium)("ClientApps in web pages (chromium)", () => {
  let browser: Browser;
  const pages: Page[] = [];

  /** A page in its own browser context (its own connections, as another device would be). */
  async function openNode(url: string, partition: number, partitions: number): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    pages.push(page);
    page.on("console", (message) => {
      if (message.type() === "error") console.warn(`[page ${partition}] ${message.text()}`);
    });
    await page.goto(`${url}?partition-id=${partition}&num-partitions=${partitions}`);
    return page;
  }

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close();
    killAll();
  });
  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it("2 pages + 1 Node SuperNode train examples/quickstart to the simulation's model, bit for bit", async () => {
    const { fleet, control, url } = await startWebFederation("examples/quickstart");
    const nodePages = await Promise.all([openNode(url, 0, 3), openNode(url, 1, 3)]);
    for (const page of nodePages) await page.waitForFunction(`${STATUS} === "connected"`);
    await startTestSuperNode(fleet, 2, 3, ["--heartbeat-interval", "2"]);
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
    expect(depResult.finalArraysSha256).toBe(simResult.finalArraysSha256);
    // The model is the same bit for bit; a loss may differ in its last float64 bit, as
    // Chromium's V8 and Node's are different versions (Math.log may round differently).
    expect(JSON.stringify(depResult.rounds, roundTo12)).toBe(
      JSON.stringify(simResult.rounds, roundTo12),
    );
    // Each page shows what it did: 3 rounds of train + evaluate, its last metrics.
    for (const page of nodePages) {
      await page.waitForFunction(`document.body.dataset.replies === "6"`);
      expect(await page.textContent("#round")).toBe("3");
      expect(await page.textContent("#metrics")).toMatch(/eval-acc=0\.\d+/);
    }
  }, 90_000);

  it("examples/mnist on 2 pages reaches 0.90 held-out accuracy in 5 rounds", async () => {
    // WebAssembly: what a browser without a GPU trains with (and faster than SwiftShader's WebGL).
    const { control, url } = await startWebFederation("examples/mnist", ["--tfjs-backend", "wasm"]);
    const nodePages = await Promise.all([openNode(url, 0, 2), openNode(url, 1, 2)]);
    // The worker's script holds the 10,000 digits (about 30 MB): give the pages time to load it.
    for (const page of nodePages) {
      await page.waitForFunction(`${STATUS} === "connected"`, undefined, { timeout: 120_000 });
    }
    const out = await tempDir();
    const run = await runFedbridge(
      ["run", "examples/mnist", "--superlink", control, "--insecure", "--seed", "1", "--out", out],
      240_000,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const { rounds } = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    expect(rounds).toHaveLength(5);
    // The ServerApp's evaluation on the 2,000 held-out digits after round 5.
    expect(rounds.at(-1).serverEvaluate.accuracy).toBeGreaterThanOrEqual(0.9);
    for (const page of nodePages) {
      expect(await page.getAttribute("body", "data-notice")).toMatch(/backend: wasm/);
      expect(await page.textContent("#round")).toBe("5");
    }
  }, 300_000);

  it("refuses a page from an origin it does not allow", async () => {
    const { web, url } = await startWebFederation("examples/quickstart");
    const allowed = await openNode(url, 0, 1);
    await allowed.waitForFunction(`${STATUS} === "connected"`);
    // The same page served from another origin (another port) is refused.
    const other = startFedbridge([
      "web-node",
      "examples/quickstart",
      "--superlink",
      web,
      "--port",
      "0",
    ]);
    const [, otherUrl] = await other.waitFor(/web node page on (http:\/\/\S+)/);
    const refused = await openNode(otherUrl as string, 0, 1);
    await refused.waitForFunction(`${STATUS} === "retrying"`);
    expect(await refused.textContent("#problem")).toMatch(/cannot reach the SuperLink/);
    expect(await refused.getAttribute("body", "data-node-id")).toBe("");
    // What the browser was told: 403, and no CORS header that would let it read anything.
    const response = await fetch(`${web}/flwr.proto.Fleet/RegisterNode`, {
      method: "OPTIONS",
      headers: {
        origin: new URL(otherUrl as string).origin,
        "access-control-request-method": "POST",
      },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  }, 60_000);

  it("a tab closed during round 2 is a lost node: the run completes with the others", async () => {
    const app = await quickstartWith("slow-quickstart");
    const { fleet, control, url } = await startWebFederation(app);
    // slow-quickstart's FedAvg needs 3 nodes a round: 3 pages and a Node SuperNode, one page closed.
    const [first, second] = await Promise.all([0, 1, 2].map((i) => openNode(url, i, 4)));
    await startTestSuperNode(fleet, 3, 4, ["--heartbeat-interval", "2"]);
    const run = startFedbridge([
      "run",
      app,
      "--superlink",
      control,
      "--insecure",
      "--verbose",
      "--run-config",
      "num-server-rounds=3 min-available-nodes=3",
    ]);
    await second?.waitForFunction(
      `document.body.dataset.round === "2" && ${STATUS} === "working"`,
      undefined,
      { timeout: 60_000 },
    );
    await second?.context().close();
    await run.waitFor(/error in reply from node \d+: NODE_UNAVAILABLE/);
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/\[ROUND 3\/3\][\s\S]*aggregate_train: Received 3 results/);
    expect(await first?.textContent("#round")).toBe("3");
  }, 90_000);
});
