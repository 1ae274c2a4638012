import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, startFedbridge } from "./processes.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";
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
/** Where the screenshot goes (printed by the test). */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), "fedbridge-dashboard.png");

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `dashboard browser test skipped: ${CHROMIUM} is missing (install it: apt-get install -y chromium)`,
  );
}

// Page-side code is written as expressions (this project type-checks without the DOM lib).
/** The most rounds (x values) any plot on the page shows. */
const MAX_ROUNDS = `Math.max(0, ...[...document.querySelectorAll("figure.plot")].map((f) => Number(f.dataset.rounds)))`;
const ONLINE_SITES = `document.querySelectorAll('#sites tr[data-online="true"]').length`;

describe.skipIf(!hasChromium)("the dashboard in a real browser (chromium)", () => {
  let runtime: TestRuntime;
  let browser: Browser | undefined;

  beforeAll(async () => {
    runtime = await startTestRuntime(3);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it("shows the sites online, a job's metric plot gaining points while it runs, and a lost server", async () => {
    const dashboard = startFedbridge([
      "dashboard",
      "--kit",
      join(runtime.kits, "admin@org-a.com"),
      "--port",
      "0",
    ]);
    const [, url] = await dashboard.waitFor(/dashboard on (http:\/\/\S+)/);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(url ?? "");
    await page.waitForSelector("#no-jobs:not([hidden])");

    // The quickstart app with a pause in each site's training: rounds of about 1.5 s, slow
    // enough for the page (polling every second) to see points arrive.
    const app = await quickstartWith("slow-quickstart");
    const submitted = await runtime.admin([
      "submit",
      app,
      "--run-config",
      "num-server-rounds=8 train-delay-ms=1500",
    ]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = submitted.stdout.trim().split("\n").at(-1) ?? "";

    // Every site online.
    await page.waitForFunction(`${ONLINE_SITES} === 3`, undefined, { timeout: 30_000 });
    const rows = page.locator('#sites tr[data-online="true"]');
    const online = await Promise.all([0, 1, 2].map((i) => rows.nth(i).getAttribute("data-site")));
    expect(online.sort()).toEqual(["site-1", "site-2", "site-3"]);

    // The job is selected by default and its plots appear with two rounds...
    await page.waitForFunction(`${MAX_ROUNDS} >= 2`, undefined, { timeout: 90_000, polling: 200 });
    const before = (await page.evaluate(MAX_ROUNDS)) as number;
    const statusBefore = await page
      .locator(`#jobs tr[data-job="${jobId}"]`)
      .getAttribute("data-status");
    const plots = await page.locator("figure.plot").count();

    // ...and gain points live, without reloading the page.
    await page.waitForFunction(`${MAX_ROUNDS} > ${before}`, undefined, {
      timeout: 60_000,
      polling: 200,
    });
    const after = (await page.evaluate(MAX_ROUNDS)) as number;
    console.log(`dashboard: ${plots} plots; ${before} rounds (job ${statusBefore}), then ${after}`);
    expect(statusBefore).toBe("RUNNING");
    expect(after).toBeGreaterThan(before);
    expect(await page.locator("#job-section").isVisible()).toBe(true);
    expect(await page.locator("#status").isHidden()).toBe(true);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`dashboard screenshot: ${SCREENSHOT}`);

    // The server goes away: the page says so, keeps the plots and keeps retrying.
    runtime.server.child.kill("SIGKILL");
    await page.waitForFunction(
      `document.querySelector("#status").textContent.includes("the server is unreachable")`,
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.locator("#status").textContent()).toMatch(/retrying every second/);
    expect(await page.locator("figure.plot").count()).toBe(plots);
    const unreachable = SCREENSHOT.replace(/(\.png)?$/, "-unreachable.png");
    await page.screenshot({ path: unreachable });
    console.log(`dashboard screenshot, server down: ${unreachable}`);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
