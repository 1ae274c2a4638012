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

/**
 * Resolves with the event once `site` reaches `type` in the server's registry. Generous: these
 * tests check what happens, not how fast (`npm run bench -- heartbeat` measures that, and
 * heartbeat.test.ts checks the heartbeat's bound on fake timers).
 */
function siteBecomes<T extends SiteEvent["type"]>(
  site: string,
  type: T,
  timeoutMs = 60_000,
): Promise<Extract<SiteEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${site} not ${type} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const stop = cells.subscribe((event) => {
      if (event.site.name !== site || event.type !== type) return;
      clearTimeout(timer);
      stop();
      resolve(event as Extract<SiteEvent, { type: T }>);
    });
  });
}

describe("site processes that vanish (heartbeat every 500 ms)", () => {
  it("shows a SIGKILLed site offline, and once online again after a restart", async () => {
    const online = Promise.all([siteBecomes("site-1", "online"), siteBecomes("site-2", "online")]);
    const first = startSiteProcess("site-1");
    startSiteProcess("site-2");
    await online;
    const instance = cells.site("site-1")?.instance;
    const offline = siteBecomes("site-1", "offline");
    first.kill("SIGKILL");
    await offline; // its socket closed ("Premature close"), or, failing that, its silence
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

  it("shows a frozen site (SIGSTOP: connection open, heartbeats stopped) offline for its silence, and online again after SIGCONT", async () => {
    const site = [...children].at(-1) as ChildProcess; // site-1 of the test above
    const offline = siteBecomes("site-1", "offline");
    site.kill("SIGSTOP");
    // Silence, not a closed socket, told the server.
    const { reason } = await offline;
    expect(reason).toMatch(/^no frame from site-1 for \d+ ms \(heartbeat every 500 ms\)$/);
    expect(Number(/for (\d+) ms/.exec(reason)?.[1])).toBeGreaterThanOrEqual(1.5 * HEARTBEAT_MS);
    const back = siteBecomes("site-1", "online");
    site.kill("SIGCONT");
    await back;
    expect(cells.sites().filter((s) => s.online)).toHaveLength(2);
  });
});
