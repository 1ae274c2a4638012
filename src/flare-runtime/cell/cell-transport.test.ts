import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellLogEvent } from "./cell-logger.ts";
import { type CellServer, createCellServer } from "./cell-server.ts";
import { cellRoutes } from "./cell-service.ts";
import { type CellSite, type CellSiteOptions, createCellSite } from "./cell-site.ts";
import { createMtlsServer, type MtlsServer } from "./mtls-server.ts";
import type { SiteEvent } from "./site-registry.ts";
import { startTcpProxy, type TcpProxy } from "./testing/tcp-proxy.ts";
import { provisionTestProject, type TestProject } from "./testing/test-project.ts";

const MiB = 2 ** 20;
// No test here waits for a silence (cuts close the sockets): a long interval keeps a process
// starved by a loaded machine from calling its own site silent mid-test.
const HEARTBEAT_MS = 5_000;
let project: TestProject;
let cells: CellServer;
let server: MtlsServer;
let proxy: TcpProxy;
const events: CellLogEvent[] = [];
const siteEvents: SiteEvent[] = [];
const sites: CellSite[] = [];

beforeAll(async () => {
  project = await provisionTestProject(["site-1", "site-2"]);
  const kit = project.server;
  cells = createCellServer({
    name: kit.config.name,
    participants: kit.config.participants,
    heartbeatIntervalMs: HEARTBEAT_MS,
    logger: (event) => events.push(event),
  });
  cells.subscribe((event) => siteEvents.push(event));
  server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    streamRoutes: cellRoutes(cells),
  });
  proxy = await startTcpProxy(await server.listen(0, "127.0.0.1"));
});

afterEach(async () => {
  await Promise.all(sites.splice(0).map((site) => site.close()));
  proxy.paused = false;
});

afterAll(async () => {
  cells.close();
  await proxy.close();
  await server.close();
});

async function startSite(name: string, extra: Partial<CellSiteOptions> = {}) {
  const kit = await project.site(name);
  const site = createCellSite({
    name,
    server: { host: "127.0.0.1", port: proxy.port, name: "server1" },
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    backoff: { initialMs: 50, maxMs: 400 },
    ...extra,
  });
  sites.push(site);
  await site.waitConnected(30_000);
  return site;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves when `site` reaches `state` in the server's registry. */
function siteBecomes(site: string, type: SiteEvent["type"], timeoutMs = 30_000): Promise<void> {
  if ((cells.site(site)?.online ?? false) === (type === "online")) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${site} not ${type} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const stop = cells.subscribe((event) => {
      if (event.site.name !== site || event.type !== type) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

describe("cells over loopback mTLS", () => {
  it("carries requests both ways, by topic, with errors as FedbridgeErrors", async () => {
    const site = await startSite("site-1");
    site.handle("add", async ({ payload, peer }) => {
      const [a, b] = JSON.parse(str(await payload.bytes())) as number[];
      return text(`${peer}:${(a ?? 0) + (b ?? 0)}`);
    });
    cells.handle("whoami", ({ peer }) => text(peer));
    cells.handle("refuse", () => {
      throw new FedbridgeError(Code.PermissionDenied, "not today");
    });
    expect(str(await cells.request("site-1", "add", text("[2,3]")))).toBe("server1:5");
    expect(str(await site.request("whoami", new Uint8Array(0)))).toBe("site-1");
    await expect(site.request("refuse", new Uint8Array(0))).rejects.toMatchObject({
      code: Code.PermissionDenied,
      message: "not today",
    });
    await expect(cells.request("nobody", "add", text("[]"))).rejects.toMatchObject({
      code: Code.NotFound,
    });
    expect(cells.sites().map((s) => [s.name, s.online])).toEqual([
      ["site-1", true],
      ["site-2", false],
    ]);
  });

  it("reconnects after a cut, resends requests in flight, and runs each handler once", async () => {
    const site = await startSite("site-1");
    let siteRuns = 0;
    let serverRuns = 0;
    // Both handlers run until the stream is cut: their replies will find no stream.
    const bothRunning = deferred();
    const cut = deferred();
    const started = () => {
      if (siteRuns + serverRuns === 2) bothRunning.resolve();
    };
    site.handle("slow", async () => {
      siteRuns++;
      started();
      await cut.promise;
      return text("site done");
    });
    cells.handle("slow", async () => {
      serverRuns++;
      started();
      await cut.promise;
      return text("server done");
    });
    const toSite = cells.request("site-1", "slow", new Uint8Array(0), { timeout: 30_000 });
    const toServer = site.request("slow", new Uint8Array(0), { timeout: 30_000 });
    await bothRunning.promise;
    const offline = siteBecomes("site-1", "offline");
    proxy.cut();
    await offline;
    cut.resolve();
    expect(str(await toSite)).toBe("site done");
    expect(str(await toServer)).toBe("server done");
    expect([siteRuns, serverRuns]).toEqual([1, 1]);
    expect(cells.site("site-1")?.online).toBe(true);
    expect(cells.sites().filter((s) => s.name === "site-1")).toHaveLength(1);
  });

  it("dials again with backoff while the server is unreachable, then carries on", async () => {
    const site = await startSite("site-1");
    site.handle("ping", () => text("pong"));
    const retries: number[] = [];
    const fiveRetries = deferred();
    site.subscribe((event) => {
      if (event.type === "disconnected") retries.push(event.retryInMs);
      if (retries.length === 5) fiveRetries.resolve();
    });
    proxy.paused = true;
    proxy.cut();
    await fiveRetries.promise;
    // Exponential, capped at 400 ms (jitter takes up to half of each wait off): 50, 100, 200,
    // 400, 400 at most.
    expect(retries[0]).toBeLessThanOrEqual(50);
    expect(Math.max(...retries)).toBeLessThanOrEqual(400);
    expect(Math.max(...retries.slice(-2))).toBeGreaterThanOrEqual(200);
    const reply = cells.request("site-1", "ping", new Uint8Array(0), { timeout: 30_000 });
    proxy.paused = false;
    expect(str(await reply)).toBe("pong");
  });

  it("fails a request with no reply in time with DEADLINE_EXCEEDED", async () => {
    const site = await startSite("site-1");
    site.handle("never", () => new Promise<Uint8Array>(() => {}));
    const error = await cells
      .request("site-1", "never", new Uint8Array(0), { timeout: 200 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(FedbridgeError);
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.message).toBe('request "never" to site-1 got no complete reply within 200 ms');
  });

  it("moves 64 MiB (and a 32 MiB upload) each way in chunks, survives a cut mid-transfer, and keeps the sender within the window", async () => {
    const site = await startSite("site-1");
    const big = new Uint8Array(64 * MiB);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    let runs = 0;
    site.handle("digest", async ({ payload }) => {
      runs++;
      const hash = createHash("sha256");
      let n = 0;
      for await (const part of payload.chunks()) {
        consumed++;
        hash.update(part);
        if (++n === 20) proxy.cut();
      }
      return text(hash.digest("hex"));
    });
    async function* source() {
      for (let offset = 0; offset < big.length; offset += MiB) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield big.subarray(offset, offset + MiB);
      }
    }
    // Deadlines for a loaded machine: each transfer takes a second or two on an idle one.
    expect(str(await cells.request("site-1", "digest", source(), { timeout: 120_000 }))).toBe(
      sha256(big),
    );
    expect(runs).toBe(1);
    expect(maxAhead).toBeLessThanOrEqual(16 + 2); // the default window is 16 chunks
    cells.handle("upload", async ({ payload }) => {
      const hash = createHash("sha256");
      for await (const part of payload.chunks()) hash.update(part);
      return text(hash.digest("hex"));
    });
    const upload = big.subarray(0, 32 * MiB);
    expect(str(await site.request("upload", upload, { timeout: 120_000 }))).toBe(sha256(upload));
    cells.handle("download", () => big);
    const reply = await site.requestStream("download", new Uint8Array(0), { timeout: 120_000 });
    expect(reply.size).toBe(big.byteLength);
    const hash = createHash("sha256");
    for await (const part of reply.chunks()) hash.update(part);
    expect(hash.digest("hex")).toBe(sha256(big));
  });

  it("closes only the offending stream on garbage and on frames out of protocol, with a clear error", async () => {
    const good = await startSite("site-2");
    good.handle("ping", () => text("pong"));
    const kit = await project.site("site-1");
    const { port } = proxy;
    const post = (body: Buffer, contentType = "application/grpc") =>
      new Promise<{ status: string; message: string }>((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${port}`, {
          ca: kit.rootCaPem,
          cert: kit.certPem,
          key: kit.keyPem,
        });
        session.on("error", reject);
        const stream = session.request({
          ":method": "POST",
          ":path": "/fedbridge.v1.CellService/Connect",
          "content-type": contentType,
          te: "trailers",
        });
        let headers: http2.IncomingHttpHeaders = {};
        stream.on("response", (h) => {
          headers = h;
        });
        stream.on("trailers", (t) => {
          headers = { ...headers, ...t };
        });
        stream.on("data", () => {});
        stream.on("close", () => {
          session.close();
          resolve({
            status: String(headers["grpc-status"] ?? headers[":status"]),
            message: decodeURIComponent(String(headers["grpc-message"] ?? "")),
          });
        });
        stream.end(body);
      });
    const envelope = (payload: Buffer) => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(payload.length, 1);
      return Buffer.concat([head, payload]);
    };
    // Not protobuf at all.
    const garbage = await post(envelope(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    expect(garbage.status).toBe(String(Code.InvalidArgument));
    expect(garbage.message).toMatch(/^unreadable frame from site-1: parse binary: illegal tag/);
    // A valid frame, but not a Hello first.
    const heartbeatFirst = await post(envelope(Buffer.from([0x1a, 0x00])));
    expect(heartbeatFirst.status).toBe(String(Code.InvalidArgument));
    expect(heartbeatFirst.message).toBe(
      "the first frame of a cell stream must be a Hello, not heartbeat",
    );
    // A frame larger than any frame may be.
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(0xfffffff0, 1);
    const oversized = await post(huge);
    expect(oversized.status).toBe(String(Code.ResourceExhausted));
    // Not gRPC.
    expect((await post(Buffer.from("hello"), "text/plain")).status).toBe("415");
    // The other site never noticed.
    expect(str(await cells.request("site-2", "ping", new Uint8Array(0)))).toBe("pong");
    expect(cells.site("site-2")?.online).toBe(true);
    expect(events.some((e) => e.event === "cell.stream-closed" && e.peer === "site-1")).toBe(true);
  });

  it("replaces an older session of the same site, keeping one registry entry", async () => {
    await startSite("site-1");
    const before = siteEvents.length;
    await startSite("site-1"); // a second process with the same kit
    await vi.waitFor(
      () =>
        expect(events.some((e) => e.event === "cell.replaced" && e.site === "site-1")).toBe(true),
      { timeout: 30_000 },
    );
    expect(cells.sites().filter((s) => s.name === "site-1")).toHaveLength(1);
    expect(siteEvents.slice(before).some((e) => e.type === "online")).toBe(true);
  });
});
