import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/fedbridge-error.ts";
import { type CellSite, createCellSite, type SiteConnectionEvent } from "./cell-site.ts";
import { provisionTestProject, type TestProject } from "./testing/test-project.ts";

/** What a server that is not a working cell server answers a site, whatever it sends. */
type Answer = (response: http2.Http2ServerResponse) => void;

let project: TestProject;
let answer: Answer = () => {};
let server: http2.Http2SecureServer;
let port: number;

beforeAll(async () => {
  project = await provisionTestProject(["site-1"]);
  const kit = project.server;
  server = http2.createSecureServer(
    { ca: kit.rootCaPem, cert: kit.certPem, key: kit.keyPem, requestCert: true },
    (request, response) => {
      request.resume();
      answer(response);
    },
  );
  port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The first disconnections a site sees while the server answers with `with`. */
async function disconnections(with_: Answer, count = 2) {
  answer = with_;
  const kit = await project.site("site-1");
  const site: CellSite = createCellSite({
    name: "site-1",
    server: { host: "127.0.0.1", port },
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    backoff: { initialMs: 20, maxMs: 50 },
  });
  const seen: Extract<SiteConnectionEvent, { type: "disconnected" }>[] = [];
  await new Promise<void>((resolve) =>
    site.subscribe((event) => {
      if (event.type === "disconnected") seen.push(event);
      if (seen.length >= count) resolve();
    }),
  );
  await site.close();
  return seen;
}

const grpcHeaders = { "content-type": "application/grpc+proto" };
const frame = (payload: number[]) => {
  const bytes = Buffer.alloc(5 + payload.length);
  bytes.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(bytes, 5);
  return bytes;
};

describe("a site facing a server that does not speak cells", () => {
  it("reads an HTTP error as the reason, and keeps dialing", async () => {
    const seen = await disconnections((response) => response.writeHead(404).end());
    expect(seen[0]).toMatchObject({
      code: Code.Unavailable,
      reason: "the server answered HTTP 404",
    });
    expect(seen).toHaveLength(2);
  });

  it("refuses a frame that is not a CellFrame, naming why", async () => {
    const seen = await disconnections((response) => {
      response.writeHead(200, grpcHeaders);
      response.write(frame([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    });
    expect(seen[0]?.code).toBe(Code.InvalidArgument);
    expect(seen[0]?.reason).toMatch(/^parse binary: /);
  });

  it("refuses a frame larger than any frame may be", async () => {
    const seen = await disconnections((response) => {
      response.writeHead(200, grpcHeaders);
      const huge = Buffer.alloc(5);
      huge.writeUInt32BE(0xfffffff0, 1);
      response.write(huge);
    });
    expect(seen[0]?.code).toBe(Code.ResourceExhausted);
  });

  it("reports the server's gRPC status and message", async () => {
    const seen = await disconnections((response) => {
      response.writeHead(200, grpcHeaders);
      response.addTrailers({ "grpc-status": "7", "grpc-message": encodeURIComponent("not you") });
      response.end();
    });
    expect(seen[0]).toMatchObject({ code: Code.PermissionDenied, reason: "not you" });
  });

  it("says so when the stream ends without a status, or inside a frame", async () => {
    const bare = await disconnections((response) => response.writeHead(200, grpcHeaders).end());
    expect(bare[0]).toMatchObject({
      code: Code.Unavailable,
      reason: "the server ended the stream without a status",
    });
    const cut = await disconnections((response) => {
      response.writeHead(200, grpcHeaders);
      response.end(frame([0x1a, 0x00]).subarray(0, 6));
    });
    expect(cut[0]).toMatchObject({
      code: Code.Unavailable,
      reason: "the stream ended inside a frame",
    });
  });
});
