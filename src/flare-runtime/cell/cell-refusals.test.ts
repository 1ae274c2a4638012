import * as http2 from "node:http2";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CellService } from "../../gen/fedbridge/v1/cell_pb.ts";
import { readStartupKit } from "../provision/index.ts";
import type { CellLogEvent } from "./cell-logger.ts";
import { type CellServer, createCellServer } from "./cell-server.ts";
import { cellRoutes } from "./cell-service.ts";
import { type CellSite, createCellSite, type SiteConnectionEvent } from "./cell-site.ts";
import { FrameQueue } from "./frame-queue.ts";
import { frames } from "./frames.ts";
import { createMtlsServer, type MtlsServer } from "./mtls-server.ts";
import {
  type Credentials,
  provisionTestProject,
  type TestProject,
} from "./testing/test-project.ts";

let project: TestProject;
let cells: CellServer;
let server: MtlsServer;
let port: number;
const events: CellLogEvent[] = [];
const opened: CellSite[] = [];

beforeAll(async () => {
  project = await provisionTestProject();
  const kit = project.server;
  cells = createCellServer({
    name: kit.config.name,
    participants: kit.config.participants,
    logger: (event) => events.push(event),
  });
  server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    streamRoutes: cellRoutes(cells),
    logger: (event) => events.push(event),
  });
  port = await server.listen(0, "127.0.0.1");
});

afterAll(async () => {
  await Promise.all(opened.map((site) => site.close()));
  cells.close();
  await server.close();
});

/** Dials with `credentials` as site `name`; what the site saw in its first attempts. */
async function dial(name: string, credentials: Credentials) {
  const seen: SiteConnectionEvent[] = [];
  const site = createCellSite({
    name,
    server: { host: "127.0.0.1", port },
    ...credentials,
    backoff: { initialMs: 100, maxMs: 200 },
  });
  opened.push(site);
  site.subscribe((event) => seen.push(event));
  await expect(site.waitConnected(1_000)).rejects.toThrow(/did not connect/);
  await site.close();
  return seen;
}

const refusals = () => events.filter((e) => e.event === "cell.refused");

describe("who may open a cell (loopback mTLS, provisioned kits)", () => {
  it("lets a provisioned site in, and lists it online", async () => {
    const site = createCellSite({ ...(await readSiteOptions("site-1")) });
    opened.push(site);
    await site.waitConnected(30_000);
    expect(cells.site("site-1")?.online).toBe(true);
    await site.close();
  });

  it("refuses at connect, and logs, a certificate from another CA", async () => {
    const before = refusals().length;
    const seen = await dial("site-1", project.refused.foreignCa);
    expect(seen.some((e) => e.type === "connected")).toBe(false);
    // The site's last attempt may be cut by its close: look for the verification refusal.
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({
        stage: "tls",
        level: "warn",
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        message:
          "TLS handshake refused: the client certificate is not issued by this project's root CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
      }),
    );
  });

  it("says which check failed for a certificate of another CA with the project CA's name", async () => {
    const before = refusals().length;
    await dial("site-1", project.refused.twinCa);
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({
        stage: "tls",
        code: "CERT_SIGNATURE_FAILURE",
        message:
          "TLS handshake refused: the client certificate is not signed by this project's root CA: its issuer has the CA's name but not its key (CERT_SIGNATURE_FAILURE)",
      }),
    );
  });

  it("logs a bare TCP probe (connect, then close) at debug level only", async () => {
    // A connection of an earlier test may still be ending: start once the log is quiet.
    await quiet();
    const before = events.length;
    for (let i = 0; i < 20; i++)
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.destroy());
        socket.on("close", () => resolve());
        socket.on("error", () => {});
      });
    const probes = () => events.slice(before).filter((e) => e.event === "cell.probe");
    await until(() => probes().length >= 20);
    expect(events.slice(before).filter((e) => e.level !== "debug")).toEqual([]);
  });

  it("refuses at connect, and logs, an expired certificate", async () => {
    const before = refusals().length;
    const seen = await dial("site-1", project.refused.expired);
    expect(seen.some((e) => e.type === "connected")).toBe(false);
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({
        stage: "tls",
        code: "CERT_HAS_EXPIRED",
        message: "TLS handshake refused: the client certificate has expired (CERT_HAS_EXPIRED)",
      }),
    );
  });

  it("refuses at connect, and logs, a certificate whose name is not in the project", async () => {
    const before = refusals().length;
    const seen = await dial("intruder", project.refused.unknownName);
    expect(seen[0]).toMatchObject({ type: "disconnected" });
    expect(seen[0]?.type === "disconnected" && seen[0].reason).toMatch(
      /certificate CN "intruder" is not a participant of this project/,
    );
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({
        stage: "identity",
        code: "unauthenticated",
        commonName: "intruder",
      }),
    );
  });

  it("refuses, and logs, a project certificate whose O differs from the participant's org", async () => {
    const before = refusals().length;
    const seen = await dial("site-1", project.refused.wrongOrg);
    expect(seen[0]?.type === "disconnected" && seen[0].reason).toMatch(
      /certificate of "site-1" says O=org-z, the project says org-a/,
    );
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({
        stage: "identity",
        code: "permission_denied",
        commonName: "site-1",
      }),
    );
  });

  it("refuses an admin's certificate on the cell channel (PERMISSION_DENIED), and logs it", async () => {
    const admin = await readStartupKit(project.adminDir);
    const before = refusals().length;
    const seen = await dial("admin@org-a.com", {
      ca: admin.rootCaPem,
      cert: admin.certPem,
      key: admin.keyPem,
    });
    expect(seen[0]?.type === "disconnected" && seen[0].reason).toMatch(
      /"admin@org-a.com" is an admin, and this service is for sites/,
    );
    expect(refusals().slice(before)[0]).toMatchObject({
      stage: "identity",
      code: "permission_denied",
    });
  });

  it("keeps serving through streams reset as soon as they are opened", async () => {
    const kit = await project.site("site-2");
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: kit.rootCaPem,
      cert: kit.certPem,
      key: kit.keyPem,
    });
    session.on("error", () => {});
    for (let i = 0; i < 50; i++) {
      const stream = session.request({
        ":method": "POST",
        ":path": "/fedbridge.v1.CellService/Connect",
        "content-type": "application/grpc+proto",
      });
      stream.on("error", () => {});
      if (i % 2 === 0) stream.close(http2.constants.NGHTTP2_CANCEL);
      else setImmediate(() => stream.close(http2.constants.NGHTTP2_CANCEL));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    session.destroy();
    const site = createCellSite({ ...(await readSiteOptions("site-2")) });
    opened.push(site);
    await site.waitConnected(30_000);
    expect(cells.site("site-2")?.online).toBe(true);
    await site.close();
  });

  it("refuses a Hello that names another site than the certificate, and logs it", async () => {
    const kit = await project.site("site-2");
    const client = createClient(
      CellService,
      createGrpcTransport({
        baseUrl: `https://127.0.0.1:${port}`,
        nodeOptions: { ca: kit.rootCaPem, cert: kit.certPem, key: kit.keyPem },
      }),
    );
    const out = new FrameQueue();
    out.push(frames.hello({ site: "site-1", instance: "x", window: 4 }));
    const before = refusals().length;
    const error = await (async () => {
      for await (const _ of client.connect(out)) {
        // no frame expected
      }
    })().catch((e: Error) => e);
    expect(String(error)).toMatch(
      /permission_denied.*Hello names site "site-1" but the certificate belongs to "site-2"/,
    );
    expect(refusals().slice(before)).toContainEqual(
      expect.objectContaining({ stage: "handshake", commonName: "site-2" }),
    );
    expect(cells.site("site-1")?.online).toBe(false);
  });
});

/** Resolves once `condition` holds (the server logs a closed socket a moment after it closes). */
async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never held; events: ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once nothing has been logged for half a second. */
async function quiet(): Promise<void> {
  for (let seen = -1; seen !== events.length; ) {
    seen = events.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function readSiteOptions(name: string) {
  const kit = await project.site(name);
  return {
    name,
    server: { host: "127.0.0.1", port },
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
  };
}
