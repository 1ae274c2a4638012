// Replays the ServerAppIo calls that a real Flower 1.28 flower-superexec and flwr-serverapp made
// (fixtures/flower-1.28/serverappio-transcript) against our SuperLink, without Python: each
// recorded request is sent with our run, token and node ids in place of the recorded ones, and
// each answer is checked against the recorded one under the same mapping. Two fake nodes on our
// Fleet API answer the instructions with the replies the real nodes sent.
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../src/core/fedbridge-error.ts";
import { GrpcClient } from "../src/core/wire/grpc-client.ts";
import { parseObject } from "../src/flower-api/objects/inflate.ts";
import { type SuperLink, startSuperLink } from "../src/flower-api/superlink/superlink.ts";
import { FleetConnection } from "../src/flower-api/supernode/fleet-connection.ts";
import { Control } from "../src/gen/fedbridge/v1/control_pb.ts";
import { Fleet } from "../src/gen/flwr/proto/fleet_pb.ts";
import {
  type Message,
  MessageSchema,
  type ObjectTree,
  ObjectTreeSchema,
} from "../src/gen/flwr/proto/message_pb.ts";
import { ServerAppIo } from "../src/gen/flwr/proto/serverappio_pb.ts";

interface Call {
  seq: number;
  method: string;
  request_b64: string;
  response_b64: string;
  status: { code: number; name: string; details: string };
}
const dir = new URL("../../shared/fixtures/flower-1.28/serverappio-transcript/", import.meta.url);
const readCalls = (path: string): Call[] =>
  readFileSync(new URL(path, dir), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Call);
const b64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const methodOf = (call: Call): DescMethod => {
  const name = call.method.split("/").at(-1);
  const method = ServerAppIo.methods.find((m) => m.name === name);
  if (method === undefined) throw new Error(`no ServerAppIo method ${call.method}`);
  return method;
};
// biome-ignore lint/suspicious/noExplicitAny: recorded messages of any ServerAppIo method
const decode = (call: Call, which: "request" | "response"): any => {
  const method = methodOf(call);
  const bytes = b64(which === "request" ? call.request_b64 : call.response_b64);
  return fromBinary(which === "request" ? method.input : method.output, bytes);
};

/** The recorded object contents, by id: what PushObject sent and PullObject answered. */
function recordedObjects(calls: readonly Call[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const call of calls) {
    const name = methodOf(call).name;
    if (name === "PushObject") {
      const req = decode(call, "request");
      out.set(req.objectId, req.objectContent);
    } else if (name === "PullObject" && call.status.code === 0) {
      const res = decode(call, "response");
      if (res.objectAvailable) out.set(decode(call, "request").objectId, res.objectContent);
    }
  }
  return out;
}

/** A Message object with new metadata (its id changes with it); children stay. */
function rewriteMessageObject(content: Uint8Array, patch: Partial<Message["metadata"]>) {
  const { childIds, body } = parseObject(content);
  const message = fromBinary(MessageSchema, body);
  Object.assign(message.metadata ?? {}, patch, { messageId: "" });
  const newBody = toBinary(MessageSchema, message);
  const head = new TextEncoder().encode(`Message ${childIds.join(",")} ${newBody.length}\0`);
  const bytes = new Uint8Array([...head, ...newBody]);
  return { bytes, id: sha256(bytes) };
}

/** A tree with its ids mapped (messages get new ids; content-only objects keep theirs). */
function mapTree(tree: ObjectTree, ids: Map<string, string>): ObjectTree {
  return create(ObjectTreeSchema, {
    objectId: ids.get(tree.objectId) ?? tree.objectId,
    children: tree.children.map((child) => mapTree(child, ids)),
  });
}

/** Replays one recorded run against `link`; returns our run id. */
async function replay(
  link: SuperLink,
  calls: readonly Call[],
  options: { stopBefore?: number } = {},
): Promise<bigint> {
  const address = (port: number) => `127.0.0.1:${port}`;
  const insecure = credentials.createInsecure();
  const appIo = new GrpcClient(ServerAppIo, address(link.serverAppIoPort), insecure);
  const control = new GrpcClient(Control, address(link.controlPort), insecure);
  const objects = recordedObjects(calls);

  // Two nodes, as in the recording, registered with our Fleet API.
  const recordedNodes = [15159958471129228976n, 8955583162127348154n];
  const nodes = new Map<bigint, { id: bigint; fleet: FleetConnection }>();
  for (const recorded of recordedNodes) {
    const fleet = new FleetConnection(address(link.fleetPort), "insecure");
    const publicKey = fleet.keys.publicKeyPem;
    await fleet.call(Fleet.method.registerNode, { publicKey });
    const { nodeId } = await fleet.call(Fleet.method.activateNode, {
      publicKey,
      heartbeatInterval: 600,
    });
    nodes.set(recorded, { id: nodeId, fleet });
  }
  const nodeOf = (recorded: bigint) => nodes.get(recorded)?.id ?? recorded;

  // The run: the recorded app bundle, started through our control API.
  const inputs = decode(calls.find((c) => c.method.endsWith("/PullAppInputs")) as Call, "response");
  const fab: Uint8Array = inputs.fab.content;
  const { runId } = await control.unary(Control.method.startRun, {
    appBundle: fab,
    appBundleSha256: sha256(fab),
    runConfig: inputs.run.overrideConfig,
  });
  const recordedRunId: bigint = inputs.run.runId;
  const ids = new Map<string, string>(); // recorded message id -> ours
  const ours = new Map<string, Uint8Array>(); // our rebuilt Message objects
  const mapId = (id: string) => ids.get(id) ?? id;
  let token = "";

  const first = calls.findIndex((c) => decode(c, "response").runIds?.length > 0);
  for (const call of calls.slice(first)) {
    const name = methodOf(call).name;
    const req = decode(call, "request");
    const res = call.status.code === 0 ? decode(call, "response") : undefined;
    const what = `seq ${call.seq} ${name}`;
    if ("runId" in req && req.runId === recordedRunId) req.runId = runId;
    if ("token" in req && req.token !== "") req.token = token;
    if (call.seq === options.stopBefore) {
      await control.unary(Control.method.stopRun, { runId });
    }
    // biome-ignore lint/suspicious/noExplicitAny: the answer of the recorded call's method
    const send = (): Promise<any> => appIo.unary(methodOf(call) as never, req as never);
    if (res === undefined) {
      await expect(send(), what).rejects.toMatchObject({
        code: call.status.code,
        message: expect.stringContaining(call.status.details),
      });
      continue;
    }
    switch (name) {
      case "ListAppsToLaunch": {
        const got = await send();
        expect(got.runIds, what).toEqual(res.runIds.length > 0 ? [runId] : []);
        break;
      }
      case "RequestToken": {
        token = (await send()).token;
        expect(token, what).toMatch(/^[0-9a-f]{256}$/);
        break;
      }
      case "GetRun":
      case "PullAppInputs": {
        const got = await send();
        for (const key of ["fabId", "fabVersion", "fabHash", "runType"])
          expect(got.run[key], `${what} ${key}`).toBe(res.run[key]);
        expect(got.run.status.status, what).toBe(res.run.status.status);
        expect(got.run.overrideConfig, what).toEqual(res.run.overrideConfig);
        if (name === "PullAppInputs") {
          expect(Buffer.from(got.fab.content).equals(Buffer.from(fab)), what).toBe(true);
          expect(got.context.runId, what).toBe(runId);
          expect(got.context.nodeId, what).toBe(1n);
        }
        break;
      }
      case "GetNodes": {
        const got = await send();
        const want = res.nodes.map((n: { nodeId: bigint }) => nodeOf(n.nodeId));
        expect(got.nodes.map((n: { nodeId: bigint }) => n.nodeId).sort(), what).toEqual(
          want.sort(),
        );
        break;
      }
      case "PushMessages": {
        req.messagesList.forEach((message: Message, i: number) => {
          const m = message.metadata as NonNullable<Message["metadata"]>;
          const recorded = objects.get(m.messageId) as Uint8Array;
          const patch = { runId, dstNodeId: nodeOf(m.dstNodeId), createdAt: Date.now() / 1000 };
          const rebuilt = rewriteMessageObject(recorded, patch);
          ids.set(m.messageId, rebuilt.id);
          ours.set(rebuilt.id, rebuilt.bytes);
          Object.assign(m, patch, { messageId: rebuilt.id });
          req.messageObjectTrees[i] = mapTree(req.messageObjectTrees[i], ids);
        });
        const got = await send();
        expect(got.messageIds, what).toEqual(res.messageIds.map(mapId));
        expect([...got.objectsToPush].sort(), what).toEqual(res.objectsToPush.map(mapId).sort());
        break;
      }
      case "PushObject": {
        req.objectId = mapId(req.objectId);
        req.objectContent = ours.get(req.objectId) ?? req.objectContent;
        expect((await send()).stored, what).toBe(res.stored);
        break;
      }
      case "PullMessages": {
        req.messageIds = req.messageIds.map(mapId);
        // The real nodes' replies, sent now by our fake nodes through the Fleet API.
        for (const [i, reply] of (res.messagesList as Message[]).entries()) {
          const m = reply.metadata as NonNullable<Message["metadata"]>;
          const node = nodes.get(m.srcNodeId) as { id: bigint; fleet: FleetConnection };
          const pulled = await node.fleet.call(Fleet.method.pullMessages, {
            node: { nodeId: node.id },
          });
          expect(pulled.messagesList[0]?.metadata?.messageId, what).toBe(mapId(m.replyToMessageId));
          const patch = {
            runId,
            srcNodeId: node.id,
            replyToMessageId: mapId(m.replyToMessageId),
            createdAt: Date.now() / 1000,
            ttl: 43_000,
          };
          const rebuilt = rewriteMessageObject(objects.get(m.messageId) as Uint8Array, patch);
          ids.set(m.messageId, rebuilt.id);
          ours.set(rebuilt.id, rebuilt.bytes);
          const pushed = await node.fleet.call(Fleet.method.pushMessages, {
            node: { nodeId: node.id },
            messagesList: [{ metadata: { ...m, ...patch, messageId: rebuilt.id }, content: {} }],
            messageObjectTrees: [mapTree(res.messageObjectTrees[i], ids)],
          });
          for (const objectId of pushed.objectsToPush) {
            const objectContent = ours.get(objectId) ?? (objects.get(objectId) as Uint8Array);
            await node.fleet.call(Fleet.method.pushObject, {
              node: { nodeId: node.id },
              runId,
              objectId,
              objectContent,
            });
          }
        }
        const got = await send();
        const key = (message: Message) => message.metadata?.messageId ?? "";
        expect(got.messagesList.map(key).sort(), what).toEqual(
          res.messagesList.map((message: Message) => mapId(key(message))).sort(),
        );
        const trees = (list: ObjectTree[]) => list.map((t) => JSON.stringify(t)).sort();
        expect(trees(got.messageObjectTrees), what).toEqual(
          trees(res.messageObjectTrees.map((t: ObjectTree) => mapTree(t, ids))),
        );
        break;
      }
      case "PullObject": {
        req.objectId = mapId(req.objectId);
        const got = await send();
        expect([got.objectFound, got.objectAvailable], what).toEqual([true, true]);
        const want = ours.get(req.objectId) ?? res.objectContent;
        expect(Buffer.from(got.objectContent).equals(Buffer.from(want)), what).toBe(true);
        break;
      }
      case "ConfirmMessageReceived":
        req.messageObjectId = mapId(req.messageObjectId);
        await send();
        break;
      case "PushAppOutputs":
        req.context.runId = runId;
        await send();
        break;
      default: // PushLogs, SendAppHeartbeat, UpdateRunStatus: same answer
        expect(await send(), what).toEqual(res);
    }
  }
  appIo.close();
  control.close();
  for (const { id, fleet } of nodes.values()) {
    await fleet.call(Fleet.method.unregisterNode, { nodeId: id });
    fleet.close();
  }
  return runId;
}

let link: SuperLink;
beforeAll(async () => {
  link = await startSuperLink({
    fleetApiAddress: "127.0.0.1:0",
    controlApiAddress: "127.0.0.1:0",
    serverAppIoApiAddress: "127.0.0.1:0",
    isolation: "process", // the replay plays flower-superexec's part
    pullWaitMs: 300,
  });
});
afterAll(() => link?.close());

describe("Flower 1.28 ServerAppIo transcript, replayed against our SuperLink", () => {
  it("run A: launch, two FedAvg rounds, outputs and the run's end, every answer as recorded", async () => {
    const calls = readCalls("calls.jsonl");
    expect(calls).toHaveLength(95);
    const runId = await replay(link, calls);
    const appIo = new GrpcClient(
      ServerAppIo,
      `127.0.0.1:${link.serverAppIoPort}`,
      credentials.createInsecure(),
    );
    const { run } = await appIo.unary(ServerAppIo.method.getRun, { runId });
    appIo.close();
    expect(run?.status).toMatchObject({ status: "finished", subStatus: "completed" });
  }, 60_000);

  it("run B: stopped by the user after round 1, the next PullMessages is refused as Flower refuses it", async () => {
    const calls = readCalls("stopped-run/calls.jsonl");
    const refused = calls.find((c) => c.status.code !== 0) as Call;
    expect(refused.status).toMatchObject({
      name: "PERMISSION_DENIED",
      details: "Run is finished. Stopped by user.",
    });
    await replay(link, calls, { stopBefore: refused.seq });
  }, 60_000);
});

describe("a run whose app has a Python ServerApp, on a SuperLink that starts it itself", () => {
  const fab = (() => {
    const calls = readCalls("calls.jsonl");
    const inputs = decode(
      calls.find((c) => c.method.endsWith("/PullAppInputs")) as Call,
      "response",
    );
    return inputs.fab.content as Uint8Array;
  })();
  const startRun = async (flowerBin: string) => {
    const saved = process.env.FEDBRIDGE_FLOWER_BIN;
    process.env.FEDBRIDGE_FLOWER_BIN = flowerBin;
    const own = await startSuperLink({
      fleetApiAddress: "127.0.0.1:0",
      controlApiAddress: "127.0.0.1:0",
    });
    const control = new GrpcClient(
      Control,
      `127.0.0.1:${own.controlPort}`,
      credentials.createInsecure(),
    );
    try {
      const { runId } = await control.unary(Control.method.startRun, {
        appBundle: fab,
        appBundleSha256: sha256(fab),
      });
      const events = [];
      for await (const { event } of control.serverStream(Control.method.streamRun, { runId }))
        events.push(event);
      return events;
    } finally {
      control.close();
      await own.close();
      if (saved === undefined) delete process.env.FEDBRIDGE_FLOWER_BIN;
      else process.env.FEDBRIDGE_FLOWER_BIN = saved;
    }
  };

  it("is refused, saying why, when Flower is not installed there", async () => {
    const empty = mkdtempSync(join(tmpdir(), "no-flower-"));
    await expect(startRun(empty)).rejects.toMatchObject({
      code: Code.FailedPrecondition,
      message: expect.stringContaining(
        `FEDBRIDGE_FLOWER_BIN (${empty}) has no executable flwr-serverapp`,
      ),
    });
  });

  it("fails with the process's exit code and stderr when flwr-serverapp dies before reporting", async () => {
    const bin = mkdtempSync(join(tmpdir(), "broken-flower-"));
    const script = join(bin, "flwr-serverapp");
    writeFileSync(
      script,
      '#!/bin/sh\necho "args: $1 $2" >&2\necho "ImportError: no flwr here" >&2\nexit 3\n',
    );
    chmodSync(script, 0o755);
    const events = await startRun(bin);
    expect(events[0]).toMatchObject({ case: "waiting" });
    const last = events.at(-1);
    expect(last?.case).toBe("runFinished");
    const details = last?.case === "runFinished" ? last.value.details : "";
    expect(details).toContain("flwr-serverapp) exited with code 3 before reporting the run's end");
    expect(details).toContain("args: --insecure --serverappio-api-address");
    expect(details).toContain("ImportError: no flwr here");
  });
});
