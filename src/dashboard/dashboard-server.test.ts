import { mkdtemp, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFedbridge } from "../../test/run-fedbridge.ts";
import { freePort } from "../../test/runtime-harness.ts";
import { type Dashboard, startDashboard } from "./index.ts";

/** GET with an explicit Host header (fetch does not let a caller set one). */
function get(url: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject).end();
  });
}

describe("the dashboard without a server", () => {
  let kits: string;
  let dashboard: Dashboard;

  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "fedbridge-dashboard-"));
    // No server listens on this port.
    const port = await freePort();
    await writeFile(
      join(root, "project.yml"),
      [
        "name: demo",
        "participants:",
        `  - { name: server1, type: server, org: org-a, host: 127.0.0.1, port: ${port} }`,
        "  - { name: site-1, type: client, org: org-a }",
        "  - { name: admin@org-a.com, type: admin, org: org-a, role: project_admin }",
        "",
      ].join("\n"),
    );
    const provisioned = await runFedbridge([
      "provision",
      join(root, "project.yml"),
      "-o",
      join(root, "ws"),
    ]);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    kits = join(root, "ws", "demo");
    dashboard = await startDashboard({ kitDir: join(kits, "admin@org-a.com"), port: 0 });
  });

  afterAll(() => dashboard?.close());

  it("serves the page and uPlot from node_modules", async () => {
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
    const page = await get(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain("/vendor/uPlot.iife.min.js");
    const uplot = await get(`${dashboard.url}vendor/uPlot.iife.min.js`);
    expect(uplot.status).toBe(200);
    expect(uplot.body).toContain("uPlot");
    expect((await get(`${dashboard.url}dashboard.js`)).status).toBe(200);
  });

  it("answers 503 with the reason while the server is unreachable", async () => {
    const sites = await get(`${dashboard.url}api/sites`);
    expect(sites.status).toBe(503);
    expect(JSON.parse(sites.body)).toMatchObject({
      code: "unavailable",
      error: expect.stringMatching(/^the server is unreachable/),
    });
    const info = JSON.parse((await get(`${dashboard.url}api/info`)).body);
    expect(info).toMatchObject({ project: "demo", admin: "admin@org-a.com" });
  });

  it("refuses another machine's Host header and unknown paths", async () => {
    expect((await get(dashboard.url, "evil.example.com")).status).toBe(403);
    expect((await get(dashboard.url, `localhost:${dashboard.port}`)).status).toBe(200);
    expect((await get(`${dashboard.url}api/nothing`)).status).toBe(404);
  });

  it("refuses a kit that is not an admin's, in one line with a non-zero exit", async () => {
    await expect(startDashboard({ kitDir: join(kits, "site-1"), port: 0 })).rejects.toThrow(
      /admin commands need an admin's kit/,
    );
    const cli = await runFedbridge(["dashboard", "--kit", join(kits, "site-1"), "--port", "0"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n")).toHaveLength(1);
    expect(cli.stderr).toMatch(/^fedbridge: .*admin's kit \[invalid_argument\]/);
  });
});
