import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CellServer, createCellServer } from "./cell-server.ts";
import { cellRoutes } from "./cell-service.ts";
import { createMtlsServer, type MtlsServer } from "./mtls-server.ts";
import type { SiteEvent } from "./site-registry.ts";
import { provisionTestProject, type TestProject } from "./testing/test-project.ts";

const HEARTBEAT_MS = 500;
const root = fileURLToPath(new URL("../../..", import.meta.url));
let project: TestProject;
let cells: CellServer;
let server: MtlsServer;
let port: number;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  project = await provisionTestProject(["site-1", "site-2"]);
  const kit = project.server;
  cells = createCellServer({
    name: kit.config.name,
    participants: kit.config.participants,
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    streamRoutes: cellRoutes(cells),
  });
  port = await server.listen(0, "127.0.0.1");
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  cells.close();
  await server.close();
});

function startSiteProcess(name: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      "bin/run-ts.mjs",
      "src/flare-runtime/cell/testing/site-process.ts",
      project.siteDirs[name] as string,
      String(port),
    ],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

/** Resolves with the ms until `site` reaches `type` in the server's registry. */
function siteBecomes(site: string, type: SiteEvent["type"], timeoutMs = 20_000): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${site} not ${type} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const stop = cells.subscribe((event) => {
      if (event.site.name !== site || event.type !== type) return;
      clearTimeout(timer);
      stop();
      resolve(performance.now() - start);
    });
  });
}

describe("site processes that vanish (heartbeat every 500 ms)", () => {
  it("shows a SIGKILLed site offline within 2 intervals, and once online again after a restart", async () => {
    const online = Promise.all([siteBecomes("site-1", "online"), siteBecomes("site-2", "online")]);
    const first = startSiteProcess("site-1");
    startSiteProcess("site-2");
    await online;
    const instance = cells.site("site-1")?.instance;
    const offline = siteBecomes("site-1", "offline");
    first.kill("SIGKILL");
    expect(await offline).toBeLessThan(2 * HEARTBEAT_MS);
    expect(cells.site("site-2")?.online).toBe(true);

    const back = siteBecomes("site-1", "online");
    const second = startSiteProcess("site-1");
    await back;
    expect(cells.sites().map((s) => [s.name, s.online])).toEqual([
      ["site-1", true],
      ["site-2", true],
    ]);
    expect(cells.site("site-1")?.instance).not.toBe(instance);
    const pid = new TextDecoder().decode(await cells.request("site-1", "pid", new Uint8Array(0)));
    expect(pid).toBe(String(second.pid));
  });

  it("shows a frozen site (SIGSTOP: connection open, heartbeats stopped) offline within 2 intervals", async () => {
    const site = [...children].at(-1) as ChildProcess; // site-1 of the test above
    const offline = siteBecomes("site-1", "offline");
    site.kill("SIGSTOP");
    const ms = await offline;
    expect(ms).toBeLessThan(2 * HEARTBEAT_MS);
    expect(ms).toBeGreaterThan(HEARTBEAT_MS); // silence, not a closed socket, told the server
    const back = siteBecomes("site-1", "online");
    site.kill("SIGCONT");
    await back;
    expect(cells.sites().filter((s) => s.online)).toHaveLength(2);
  });
});
