import { createHash } from "node:crypto";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcClient } from "../src/core/wire/grpc-client.ts";
import type { UserConfig } from "../src/flower-api/app/context.ts";
import { configToScalars } from "../src/flower-api/app/scalars.ts";
import { packApp } from "../src/flower-api/fab/app-bundle.ts";
import {
  applyAuthMetadata,
  createNodeKeyPair,
  signAuthMetadata,
} from "../src/flower-api/superlink/node-auth.ts";
import { FleetConnection } from "../src/flower-api/supernode/fleet-connection.ts";
import { Control } from "../src/gen/fedbridge/v1/control_pb.ts";
import { Fleet } from "../src/gen/flwr/proto/fleet_pb.ts";
import { killAll, startTestSuperLink } from "./processes.ts";

// Every kind of bad input a SuperLink can be sent: each is refused with a gRPC status and a
// message, and the SuperLink keeps serving. A real SuperLink process on loopback.

let superlink: Awaited<ReturnType<typeof startTestSuperLink>>;
let node: FleetConnection;
let nodeId: bigint;
let runId: bigint;
const insecure = credentials.createInsecure();

beforeAll(async () => {
  superlink = await startTestSuperLink();
  node = new FleetConnection(superlink.fleet, "insecure");
  const publicKey = node.keys.publicKeyPem;
  await node.call(Fleet.method.registerNode, { publicKey });
  ({ nodeId } = await node.call(Fleet.method.activateNode, { publicKey, heartbeatInterval: 30 }));
  // A run that stays running: quickstart waits for a second node that never comes.
  const bundle = await packApp("examples/quickstart");
  const control = new GrpcClient(Control, superlink.control, insecure);
  ({ runId } = await control.unary(Control.method.startRun, {
    appBundle: bundle.bytes,
    appBundleSha256: bundle.sha256,
  }));
  control.close();
});

afterAll(() => {
  node?.close();
  killAll();
});

/** Sends raw bytes to a method and returns the gRPC error it answers with. */
function sendRaw(
  address: string,
  path: string,
  bytes: Buffer,
  metadata = new Metadata(),
): Promise<ServiceError> {
  const client = new Client(address, insecure);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      metadata,
      {},
      (error) => {
        client.close();
        if (error) resolve(error);
        else reject(new Error(`${path} accepted garbage`));
      },
    );
  });
}

describe("the SuperLink refuses bad input and keeps serving", () => {
  it("garbage bytes to every Fleet and control method: INVALID_ARGUMENT naming the method", async () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    for (const [service, address] of [
      [Fleet, superlink.fleet],
      [Control, superlink.control],
    ] as const) {
      for (const method of service.methods) {
        const error = await sendRaw(address, `/${service.typeName}/${method.name}`, garbage);
        expect(error.code, method.name).toBe(3);
        expect(error.details).toContain(`${method.name}: the request is not a valid`);
      }
    }
  });

  it("a call for a node the caller is not, or an unknown node: UNAUTHENTICATED", async () => {
    await expect(
      node.call(Fleet.method.pullMessages, { node: { nodeId: nodeId + 1n } }),
    ).rejects.toMatchObject({ code: 16, message: /Invalid node ID/ });
    const stranger = new FleetConnection(superlink.fleet, "insecure");
    await expect(
      stranger.call(Fleet.method.sendNodeHeartbeat, { node: { nodeId }, heartbeatInterval: 30 }),
    ).rejects.toThrow(/Invalid node ID/);
    stranger.close();
  });

  it("an unknown run: PERMISSION_DENIED", async () => {
    await expect(
      node.call(Fleet.method.getRun, { node: { nodeId }, runId: runId + 1n }),
    ).rejects.toMatchObject({ code: 7, message: /Run ID not found/ });
  });

  it("a message that answers nothing: refused with the reason", async () => {
    const reply = {
      metadata: {
        runId,
        messageId: "a".repeat(64),
        srcNodeId: nodeId,
        dstNodeId: 1n,
        replyToMessageId: "b".repeat(64),
        messageType: "train",
        ttl: 10,
        createdAt: Date.now() / 1000,
      },
      content: {},
    };
    await expect(
      node.call(Fleet.method.pushMessages, {
        node: { nodeId },
        messagesList: [reply],
        messageObjectTrees: [{ objectId: "a".repeat(64) }],
      }),
    ).rejects.toMatchObject({ code: 3, message: /no instruction b+ is waiting for it/ });
  });

  it("an object whose bytes do not match its id is not stored; a malformed object is FAILED_PRECONDITION", async () => {
    const bytes = new TextEncoder().encode("ConfigRecord  0\0");
    const wrongId = createHash("sha256").update("something else").digest("hex");
    const pushed = await node.call(Fleet.method.pushObject, {
      node: { nodeId },
      runId,
      objectId: wrongId,
      objectContent: bytes,
    });
    expect(pushed.stored).toBe(false);
    const garbage = new TextEncoder().encode("not an object");
    const garbageId = createHash("sha256").update(garbage).digest("hex");
    await expect(
      node.call(Fleet.method.pushObject, {
        node: { nodeId },
        runId,
        objectId: garbageId,
        objectContent: garbage,
      }),
    ).rejects.toMatchObject({ code: 9 });
  });

  it("a bad signature, a stale or future timestamp, missing headers: UNAUTHENTICATED", async () => {
    const path = "/flwr.proto.Fleet/RegisterNode";
    const other = createNodeKeyPair();
    const body = Buffer.from([]);
    const signedBy = (
      keys: ReturnType<typeof createNodeKeyPair>,
      sentKey: Uint8Array,
      when = new Date(),
    ) => applyAuthMetadata(new Metadata(), signAuthMetadata(keys.privateKey, sentKey, when));
    const forged = await sendRaw(
      superlink.fleet,
      path,
      body,
      signedBy(other, node.keys.publicKeyPem),
    );
    expect([forged.code, forged.details]).toEqual([16, "Invalid signature"]);
    const stale = await sendRaw(
      superlink.fleet,
      path,
      body,
      signedBy(other, other.publicKeyPem, new Date(Date.now() - 400_000)),
    );
    expect([stale.code, stale.details]).toEqual([16, "Invalid timestamp"]);
    const future = await sendRaw(
      superlink.fleet,
      path,
      body,
      signedBy(other, other.publicKeyPem, new Date(Date.now() + 60_000)),
    );
    expect(future.details).toBe("Invalid timestamp");
    const bare = await sendRaw(superlink.fleet, path, body);
    expect([bare.code, bare.details]).toEqual([16, "Missing authentication metadata"]);
  });

  it("an app bundle whose hash does not match: INVALID_ARGUMENT", async () => {
    const bundle = await packApp("examples/quickstart");
    const control = new GrpcClient(Control, superlink.control, insecure);
    await expect(
      control.unary(Control.method.startRun, {
        appBundle: bundle.bytes,
        appBundleSha256: "0".repeat(64),
      }),
    ).rejects.toMatchObject({
      code: 3,
      message: /app bundle hash mismatch/,
    });
    await expect(
      control.unary(Control.method.startRun, {
        appBundle: new Uint8Array([1, 2, 3]),
        appBundleSha256: createHash("sha256")
          .update(new Uint8Array([1, 2, 3]))
          .digest("hex"),
      }),
    ).rejects.toThrow(/StartRun/);
    control.close();
  });

  it("a run config the app does not allow: INVALID_ARGUMENT naming key and value", async () => {
    const bundle = await packApp("examples/quickstart");
    const control = new GrpcClient(Control, superlink.control, insecure);
    const start = (runConfig: UserConfig) =>
      control.unary(Control.method.startRun, {
        appBundle: bundle.bytes,
        appBundleSha256: bundle.sha256,
        runConfig: configToScalars(runConfig),
      });
    await expect(start({ "num-server-rounds": 2.5 })).rejects.toMatchObject({
      code: 3,
      message: /run config: num-server-rounds=2\.5: expected an integer \(the app's default is 3\)/,
    });
    await expect(start({ colour: "red" })).rejects.toMatchObject({
      code: 3,
      message: /run config: unknown key 'colour'/,
    });
    control.close();
  });

  it("is still serving: a new node registers and the process is alive", async () => {
    const fresh = new FleetConnection(superlink.fleet, "insecure");
    const { nodeId: id } = await fresh.call(Fleet.method.registerNode, {
      publicKey: fresh.keys.publicKeyPem,
    });
    expect(id).toBeGreaterThan(1n);
    fresh.close();
    expect(superlink.process.child.exitCode).toBeNull();
  });
});
