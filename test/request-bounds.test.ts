import { readFile } from "node:fs/promises";
import type { ClientHttp2Session, SecureClientSessionOptions } from "node:http2";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { procStatusBytes } from "../bench/lib/proc.ts";
import { Code } from "../src/core/fedbridge-error.ts";
import { MAX_FRAME_BYTES } from "../src/flare-runtime/cell/cell-options.ts";
import { CELL_PATH } from "../src/flare-runtime/cell/frame-codec.ts";
import { readAuditLog } from "../src/flare-runtime/jobs/audit-log.ts";
import { ADMIN_MAX_REQUEST_BYTES } from "../src/flare-runtime/server/admin-gate.ts";
import {
  CONTROL_MAX_REQUEST_BYTES,
  FLEET_MAX_REQUEST_BYTES,
} from "../src/flower-api/superlink/request-limits.ts";
import { Admin } from "../src/gen/fedbridge/v1/admin_pb.ts";
import { Control, NodeTracking } from "../src/gen/fedbridge/v1/control_pb.ts";
import { Control as FlowerControl } from "../src/gen/flwr/proto/control_pb.ts";
import { Fleet } from "../src/gen/flwr/proto/fleet_pb.ts";
import { type FedbridgeProcess, killAll, startFedbridge, startTestSuperLink } from "./processes.ts";
import { filler, grpcFrame, grpcPrefix, openSession, type RawBody, rawCall } from "./raw-rpc.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { startTestRuntime, type TestRuntime } from "./runtime-harness.ts";

// One sweep over every RPC method that a fedbridge server takes from the network: the
// SuperLink's Fleet, NodeTracking and control APIs, the runtime server's admin API and cell
// route (with each kind of certificate), and a bridge's Fleet API. Each method gets the same
// hostile bodies; each must be answered with a status that names the caller's fault (never
// INTERNAL), the server must live on, and no request may grow its memory by 100 MB. Every
// server is a real `fedbridge` process, started once.

const MB = 1e6;
/** gRPC's OK, which fedbridge's error codes leave out. */
const OK = 0;
/** Most a request may grow a server's resident memory. */
const MAX_GROWTH = 100 * MB;
/** The huge body: sent to one method per server, by a caller that keeps sending after its answer. */
const HUGE = 300 * MB;

/** The bodies every method gets, by name: what each is, as pieces written in order. */
function bodies(limit: number): Record<string, RawBody> {
  return {
    // No message at all, or a length prefix that promises more than follows.
    "no message": { pieces: [] },
    truncated: { pieces: [grpcPrefix(100), new Uint8Array(10)] },
    garbage: { pieces: grpcFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])) },
    empty: { pieces: grpcFrame(new Uint8Array()) },
    // 5 MB of field 8, fixed64, repeated (the body): unknown fields, whole ones.
    "5 MB": { pieces: [grpcPrefix(5_000_004), ...filler(5_000_004)] },
    "over the limit": { pieces: [grpcPrefix(limit + 1), ...filler(limit + 1)] },
  };
}

/**
 * 5 MB of empty sub-messages for field 3 (PushMessages' object trees, StartRun's run config):
 * small on the wire, over a gigabyte of objects if it were decoded.
 */
function amplifying(): RawBody {
  const bytes = new Uint8Array(5 * MB);
  for (let i = 0; i < bytes.length; i += 2) bytes[i] = 0x1a;
  return { pieces: grpcFrame(bytes) };
}

/** Codes that say the request was at fault; INTERNAL, UNKNOWN or UNIMPLEMENTED never are. */
const CALLER_FAULTS = [
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
  Code.Unauthenticated,
];

interface Target {
  name: string;
  process: FedbridgeProcess;
  session: ClientHttp2Session;
}

/** The largest growth of each server's resident memory over one request, for the summary. */
const growth = new Map<string, number>();

/** Sends one request to `target`, checks the server survived it within its memory bound. */
async function probe(target: Target, path: string, body: RawBody, label: string) {
  const pid = target.process.child.pid as number;
  const before = procStatusBytes(pid, "VmRSS") ?? 0;
  const reply = await rawCall(target.session, path, body);
  const grew = (procStatusBytes(pid, "VmRSS") ?? 0) - before;
  growth.set(target.name, Math.max(growth.get(target.name) ?? 0, grew));
  const what = `${target.name} ${path} ${label}: ${reply.grpcStatus} ${reply.grpcMessage}`;
  expect(target.process.child.exitCode, what).toBeNull();
  expect(grew, what).toBeLessThan(MAX_GROWTH);
  return { code: reply.grpcStatus, message: reply.grpcMessage, what };
}

/** Every method of `service` with each body; `expected(method, body)` is the code it must get. */
async function sweep(
  target: Target,
  service: DescService,
  limit: number,
  expected: (method: string, body: string) => number | number[],
) {
  for (const method of service.methods)
    for (const [label, body] of Object.entries(bodies(limit))) {
      const path = `/${service.typeName}/${method.name}`;
      const { code, what } = await probe(target, path, body, label);
      expect([expected(method.name, label)].flat(), what).toContain(code);
      if (code !== OK) expect(CALLER_FAULTS, what).toContain(code);
    }
}

/** The huge body to `path`, from a caller that ignores the answer and keeps sending. */
async function huge(target: Target, path: string, frame = grpcPrefix(HUGE)) {
  const { code, what } = await probe(
    target,
    path,
    { pieces: [frame, ...filler(HUGE)], ignoreAnswer: true },
    "300 MB",
  );
  return { code, what };
}

let superlink: Awaited<ReturnType<typeof startTestSuperLink>>;
let runtime: TestRuntime;
let bridge: FedbridgeProcess;
let serverPort: number;
let bridgePort: number;
/** The project's kits, and those of a second project of the same name (another CA). */
let twinKits: string;
const sessions: ClientHttp2Session[] = [];

const kitCredentials = async (dir: string): Promise<SecureClientSessionOptions> => ({
  ca: await readFile(join(dir, "rootCA.pem"), "utf8"),
  cert: await readFile(join(dir, "cert.pem"), "utf8"),
  key: await readFile(join(dir, "key.pem"), "utf8"),
  servername: "localhost",
});

/** A session to the runtime server as the participant whose kit is `dir`. */
async function runtimeAs(name: string, dir: string): Promise<Target> {
  const session = await openSession(`https://127.0.0.1:${serverPort}`, await kitCredentials(dir));
  sessions.push(session);
  return { name, process: runtime.server, session };
}

async function plaintext(name: string, process: FedbridgeProcess, address: string) {
  const session = await openSession(`http://${address}`);
  sessions.push(session);
  return { name, process, session };
}

beforeAll(async () => {
  superlink = await startTestSuperLink();
  runtime = await startTestRuntime(0, 3);
  serverPort = Number(runtime.server.output().match(/listening on port (\d+)/)?.[1]);
  bridge = startFedbridge([
    "bridge",
    "--kit",
    join(runtime.kits, "site-1"),
    "--fleet-api-address",
    "127.0.0.1:0",
    "--port",
    String(serverPort),
  ]);
  bridgePort = Number((await bridge.waitFor(/Fleet API on port (\d+)/))[1]);
  // The same project.yml provisioned again: the same names, under another CA of the same name.
  const twin = join(runtime.root, "twin");
  const provisioned = await runFedbridge([
    "provision",
    join(runtime.root, "project.yml"),
    "-o",
    twin,
  ]);
  if (provisioned.code !== 0) throw new Error(provisioned.stderr);
  twinKits = join(twin, "demo");
}, 180_000);

afterAll(() => {
  for (const session of sessions) session.destroy();
  killAll();
  const summary = [...growth].map(([name, bytes]) => `${name} ${(bytes / MB).toFixed(1)} MB`);
  console.log(`largest RSS growth over one request: ${summary.join(", ")}`);
});

describe("every server bounds what one request may cost, and names what was wrong with it", () => {
  it("SuperLink: Fleet and NodeTracking (node signatures), control API", async () => {
    const fleet = await plaintext("SuperLink Fleet API", superlink.process, superlink.fleet);
    const malformed = (body: string) =>
      ["no message", "truncated", "garbage"].includes(body) ? Code.InvalidArgument : undefined;
    const fleetCodes = (_method: string, body: string) =>
      malformed(body) ??
      (body === "over the limit" ? Code.ResourceExhausted : Code.Unauthenticated);
    await sweep(fleet, Fleet, FLEET_MAX_REQUEST_BYTES, fleetCodes);
    await sweep(fleet, NodeTracking, FLEET_MAX_REQUEST_BYTES, fleetCodes);
    expect((await huge(fleet, "/flwr.proto.Fleet/PushObject")).code).toBe(Code.ResourceExhausted);
    const trees = await probe(fleet, "/flwr.proto.Fleet/PushMessages", amplifying(), "amplifying");
    expect(trees.code, trees.what).toBe(Code.ResourceExhausted);

    const control = await plaintext("SuperLink control API", superlink.process, superlink.control);
    await sweep(control, Control, CONTROL_MAX_REQUEST_BYTES, (method, body) => {
      if (body === "over the limit") return Code.ResourceExhausted;
      // An empty request: no bundle (its hash cannot match), or run 0, which does not exist.
      return malformed(body) ?? (method === "StartRun" ? Code.InvalidArgument : Code.NotFound);
    });
    const startRun = await huge(control, "/fedbridge.v1.Control/StartRun");
    expect(startRun.code, startRun.what).toBe(Code.ResourceExhausted);
    const config = await probe(
      control,
      "/fedbridge.v1.Control/StartRun",
      amplifying(),
      "amplifying",
    );
    expect(config.code, config.what).toBe(Code.ResourceExhausted);

    // Flower's Control API on the same port (flwr run, ls, log, stop).
    const served = ["StartRun", "StreamLogs", "ListRuns", "StopRun"];
    const flowerControl = {
      typeName: FlowerControl.typeName,
      methods: FlowerControl.methods.filter((m) => served.includes(m.name)),
    } as unknown as DescService;
    await sweep(control, flowerControl, CONTROL_MAX_REQUEST_BYTES, (method, body) => {
      if (body === "over the limit") return Code.ResourceExhausted;
      if (method === "ListRuns") return malformed(body) ?? OK;
      // An empty request: no FAB (its hash cannot match), or run 0, which does not exist.
      return malformed(body) ?? (method === "StartRun" ? Code.InvalidArgument : Code.NotFound);
    });
    const flwrStartRun = await huge(control, "/flwr.proto.Control/StartRun");
    expect(flwrStartRun.code, flwrStartRun.what).toBe(Code.ResourceExhausted);
  });

  it("a bridge's Fleet API", async () => {
    const fleet = await plaintext("bridge Fleet API", bridge, `127.0.0.1:${bridgePort}`);
    await sweep(fleet, Fleet, FLEET_MAX_REQUEST_BYTES, (_method, body) =>
      ["no message", "truncated", "garbage"].includes(body)
        ? Code.InvalidArgument
        : body === "over the limit"
          ? Code.ResourceExhausted
          : Code.Unauthenticated,
    );
    expect((await huge(fleet, "/flwr.proto.Fleet/PushObject")).code).toBe(Code.ResourceExhausted);
    const trees = await probe(fleet, "/flwr.proto.Fleet/PushMessages", amplifying(), "amplifying");
    expect(trees.code, trees.what).toBe(Code.ResourceExhausted);
  });

  it("runtime server, admin API: anyone but an admin is refused before the body, and audited", async () => {
    const site = await runtimeAs("runtime server (site)", join(runtime.kits, "site-1"));
    await sweep(site, Admin, ADMIN_MAX_REQUEST_BYTES, () => Code.PermissionDenied);
    const refused = await huge(site, "/fedbridge.v1.Admin/SubmitJob");
    expect(refused.code, refused.what).toBe(Code.PermissionDenied);
    const audit = (await readAuditLog(join(runtime.kits, "server1", "audit.log"))).filter(
      (entry) => entry.who.name === "site-1",
    );
    // One denial per request, none of them read: 8 methods × 6 bodies, and the huge one.
    expect(audit).toHaveLength(Admin.methods.length * 6 + 1);
    expect(audit[0]).toMatchObject({
      who: { name: "site-1", org: "org-a", role: "client" },
      command: "sites",
      args: "(not read)",
      outcome: "denied",
      reason: '"site-1" is a site, and this service is for admins',
    });
  });

  it("runtime server, admin API: an admin's bad bodies, and NOT_FOUND only after authorization", async () => {
    const admin = await runtimeAs("runtime server (admin)", join(runtime.kits, "admin@org-a.com"));
    const jobMethods = ["GetJob", "WaitJob", "AbortJob", "DownloadJob", "JobMetrics"];
    await sweep(admin, Admin, ADMIN_MAX_REQUEST_BYTES, (method, body) => {
      if (body === "over the limit") return Code.ResourceExhausted;
      if (["no message", "truncated", "garbage"].includes(body)) return Code.InvalidArgument;
      // An empty request: no job id (no such job), no bundle (nothing to check).
      if (jobMethods.includes(method)) return Code.NotFound;
      return method === "SubmitJob" ? Code.InvalidArgument : OK;
    });
    const big = await huge(admin, "/fedbridge.v1.Admin/SubmitJob");
    expect(big.code, big.what).toBe(Code.ResourceExhausted);

    // A member may view, not abort, download or submit: for a job id that does not exist it
    // is told PERMISSION_DENIED, so it cannot probe which ids exist.
    const member = await runtimeAs(
      "runtime server (member)",
      join(runtime.kits, "member@org-b.com"),
    );
    for (const method of Admin.methods) {
      const path = `/fedbridge.v1.Admin/${method.name}`;
      const { code, what } = await probe(
        member,
        path,
        { pieces: grpcFrame(new Uint8Array()) },
        "empty",
      );
      const denied = ["SubmitJob", "AbortJob", "DownloadJob"].includes(method.name);
      expect(code, what).toBe(
        denied ? Code.PermissionDenied : jobMethods.includes(method.name) ? Code.NotFound : OK,
      );
    }
  });

  it("runtime server: no certificate, or another CA's, is refused in the handshake and logged", async () => {
    const { ca } = await kitCredentials(join(runtime.kits, "site-1"));
    const twinAdmin = await kitCredentials(join(twinKits, "admin@org-a.com"));
    const attempts = [
      { ca, servername: "localhost" }, // no certificate
      { ...twinAdmin, ca }, // the other project's admin, trusting this server
    ];
    for (const options of attempts) {
      const call = async () => {
        const session = await openSession(`https://127.0.0.1:${serverPort}`, options);
        sessions.push(session);
        return rawCall(session, "/fedbridge.v1.Admin/ListJobs", {
          pieces: grpcFrame(new Uint8Array()),
        });
      };
      await expect(call()).rejects.toThrow();
    }
    await runtime.server.waitFor(/TLS handshake refused: the client presented no certificate/);
    await runtime.server.waitFor(
      /TLS handshake refused: the client certificate is not signed by this project's root CA: its issuer has the CA's name but not its key \(CERT_SIGNATURE_FAILURE\)/,
    );
    expect(runtime.server.child.exitCode).toBeNull();
  });

  it("runtime server, cell route: a site's bad frames, an admin's certificate", async () => {
    const site = await runtimeAs("runtime server (cells)", join(runtime.kits, "site-2"));
    const expected: Record<string, number[]> = {
      // A stream that ends before its Hello has asked for nothing: it ends as it came.
      "no message": [OK],
      truncated: [Code.InvalidArgument],
      garbage: [Code.InvalidArgument],
      // A frame with no kind, or only unknown fields: not a Hello.
      empty: [Code.InvalidArgument],
      "5 MB": [Code.InvalidArgument],
      "over the limit": [Code.ResourceExhausted],
    };
    for (const [label, body] of Object.entries(bodies(MAX_FRAME_BYTES))) {
      const { code, what } = await probe(site, CELL_PATH, body, label);
      expect(expected[label], what).toContain(code);
    }
    const big = await huge(site, CELL_PATH);
    expect(big.code, big.what).toBe(Code.ResourceExhausted);
    const admin = await runtimeAs(
      "runtime server (cells, admin)",
      join(runtime.kits, "admin@org-a.com"),
    );
    const { code, what } = await probe(admin, CELL_PATH, { pieces: [] }, "no message");
    expect(code, what).toBe(Code.PermissionDenied);
  });

  it("every server is still serving", async () => {
    for (const process of [superlink.process, runtime.server, bridge])
      expect(process.child.exitCode).toBeNull();
    const admin = await runtime.admin(["list", "--json"]);
    expect(admin.code, admin.stderr).toBe(0);
  });
});
