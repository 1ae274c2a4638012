import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageToProto } from "../message/message-serde.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import {
  computeMessageId,
  type DeflatedObject,
  deflateMessage,
  deflateRecord,
} from "../objects/deflate.ts";
import { objectTreeOf } from "../objects/inflate.ts";
import { ObjectStore } from "../objects/object-store.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { MessageRouter } from "./message-router.ts";
import { NodeRegistry } from "./node-registry.ts";

const RUN_ID = 7n;
const model = new ArrayRecord({ w: FlowerArray.fromTypedArray(new Float32Array([1, 2, 3])) });

let nodes: NodeRegistry;
afterEach(() => nodes.close());

/** A SuperLink's router with `count` nodes online. */
function superlink(count: number) {
  nodes = new NodeRegistry();
  const objects = new ObjectStore();
  const router = new MessageRouter(objects, nodes);
  const nodeIds: bigint[] = [];
  for (let i = 0; i < count; i++) {
    nodes.register(`key-${i}`);
    nodeIds.push(nodes.activate(`key-${i}`, 60));
  }
  return { objects, router, nodeIds };
}

/** Queues a train instruction carrying the shared model, as a ServerApp's grid does. */
function instruct(router: MessageRouter, dstNodeId: bigint): Message {
  const content = new RecordDict({ arrays: model, config: new ConfigRecord({ lr: 0.1 }) });
  const message = new Message(content, { dstNodeId, messageType: "train" });
  Object.assign(message.metadata, { runId: RUN_ID, srcNodeId: SERVER_NODE_ID });
  message.metadata.messageId = computeMessageId(message);
  router.pushInstruction(message);
  return message;
}

/** A node's reply: its own weights and the given metrics. */
function reply(to: Message, weights: number[], metrics: MetricRecord): Message {
  const arrays = new ArrayRecord({ w: FlowerArray.fromTypedArray(new Float32Array(weights)) });
  const message = new Message(new RecordDict({ arrays, metrics }), { replyTo: to });
  message.metadata.messageId = computeMessageId(message);
  return message;
}

/** A reply's objects by id, as the node pushes them. */
function objectsOf(root: DeflatedObject, out = new Map<string, Uint8Array>()) {
  out.set(root.id, root.bytes);
  for (const child of root.children) objectsOf(child, out);
  return out;
}

/** PushMessages then the node's view of it: the ids to push, and a PushObject for each. */
function pushReply(
  { objects, router }: ReturnType<typeof superlink>,
  nodeId: bigint,
  message: Message,
) {
  const deflated = deflateMessage(message);
  const missing = router.pushReply(nodeId, messageToProto(message), objectTreeOf(deflated));
  const bytes = objectsOf(deflated);
  /** PushObject, as the Fleet servicer handles it. */
  const pushObject = async (id: string): Promise<boolean> => {
    const stored = await objects.put(id, bytes.get(id) as Uint8Array);
    if (stored) router.objectStored(nodeId, id);
    return stored;
  };
  return { missing, pushObject };
}

describe("MessageRouter", () => {
  it("a pull after one reply of 300 looks at that reply, not at the 299 still waiting (O(N²) lookups a round before)", () => {
    const link = superlink(300);
    const sent = link.nodeIds.map((node) => instruct(link.router, node));
    const ids = new Set(sent.map((m) => m.metadata.messageId));
    const first = reply(sent[0] as Message, [1], new MetricRecord({ acc: 1 }));
    const proto = messageToProto(first);
    const tree = objectTreeOf(deflateMessage(first));
    expect(link.router.pushReply(link.nodeIds[0] as bigint, proto, tree, true)).toEqual([]);
    const isOnline = vi.spyOn(nodes, "isOnline");
    const got = link.router.takeReplies(ids);
    expect(got.map((m) => m.metadata.messageId)).toEqual([first.metadata.messageId]);
    expect(isOnline).not.toHaveBeenCalled();
    expect(link.router.takeReplies(ids)).toEqual([]);
  });

  it("answers only the instructions of nodes that are offline with NODE_UNAVAILABLE", () => {
    const link = superlink(3);
    const [gone, stays] = link.nodeIds as [bigint, bigint];
    const [toGone, toStays] = [instruct(link.router, gone), instruct(link.router, stays)];
    const toUnknown = instruct(link.router, 12345n); // never online
    const ids = [toGone, toStays, toUnknown].map((m) => m.metadata.messageId);
    const unavailable = () =>
      link.router.takeReplies(ids).map((m) => [m.metadata.replyToMessageId, m.error.code] as const);
    expect(unavailable()).toEqual([[toUnknown.metadata.messageId, ErrorCode.NODE_UNAVAILABLE]]);
    nodes.deactivate(gone);
    expect(unavailable()).toEqual([[toGone.metadata.messageId, ErrorCode.NODE_UNAVAILABLE]]);
    expect(unavailable()).toEqual([]); // each is answered once; the online node's still waits
  });

  it("completes a reply once its node has pushed every missing object", async () => {
    const link = superlink(1);
    const [node] = link.nodeIds as [bigint];
    const ins = instruct(link.router, node);
    expect((await link.router.pullInstruction(node, 0))?.tree.objectId).toBe(
      ins.metadata.messageId,
    );
    const sent = reply(ins, [4, 5, 6], new MetricRecord({ loss: 0.5 }));

    const { missing, pushObject } = pushReply(link, node, sent);
    expect(missing).toContain(sent.metadata.messageId);
    for (const id of missing.slice(0, -1)) expect(await pushObject(id)).toBe(true);
    expect(link.router.takeReplies([ins.metadata.messageId])).toEqual([]);
    expect(await pushObject(missing.at(-1) as string)).toBe(true);

    const [got] = link.router.takeReplies([ins.metadata.messageId]);
    expect(got?.metadata).toEqual(sent.metadata);
    expect(got && computeMessageId(got)).toBe(sent.metadata.messageId);
    expect(link.objects.has(sent.metadata.messageId)).toBe(false); // consumed, then dropped
  });

  it("does not complete a node's reply when another node pushes an object they share", async () => {
    const link = superlink(2);
    const [node1, node2] = link.nodeIds as [bigint, bigint];
    const [ins1, ins2] = [instruct(link.router, node1), instruct(link.router, node2)];
    // Equal metrics are one content-addressed object in both replies; the weights differ.
    const metrics = new MetricRecord({ acc: 0.9 });
    const shared = deflateRecord(metrics).id;
    const sent1 = reply(ins1, [1, 1, 1], metrics);
    const sent2 = reply(ins2, [2, 2, 2], new MetricRecord({ acc: 0.9 }));

    const push1 = pushReply(link, node1, sent1);
    const push2 = pushReply(link, node2, sent2);
    expect(push1.missing).toContain(shared);
    expect(push2.missing).toContain(shared);
    // Node 2's pushes run concurrently: all but the shared one land first (its root included).
    for (const id of push2.missing.filter((id) => id !== shared))
      expect(await push2.pushObject(id)).toBe(true);
    for (const id of push1.missing) expect(await push1.pushObject(id)).toBe(true);

    // The ServerApp pulls both: only node 1's reply is complete, as node 1 pushed only for it.
    const ids = [ins1.metadata.messageId, ins2.metadata.messageId];
    const [got1, ...early] = link.router.takeReplies(ids);
    expect(early).toEqual([]);
    expect(got1 && computeMessageId(got1)).toBe(sent1.metadata.messageId);
    // Node 1's reply is dropped, yet node 2's still holds the shared object: its push is stored.
    expect(await push2.pushObject(shared)).toBe(true);
    const [got2] = link.router.takeReplies(ids);
    expect(got2?.metadata).toEqual(sent2.metadata);
    expect(got2 && computeMessageId(got2)).toBe(sent2.metadata.messageId);
  });

  it("ServerAppIo: queues an app's instruction once its objects are stored, holds the app's pull until every reply is in", async () => {
    const link = superlink(2);
    const [node1, node2] = link.nodeIds as [bigint, bigint];
    // Two instructions as a Python ServerApp pushes them: metadata and trees, objects after.
    const content = new RecordDict({ arrays: model });
    const pushed = [node1, node2].map((dstNodeId) => {
      const message = new Message(content, { dstNodeId, messageType: "train" });
      Object.assign(message.metadata, { runId: RUN_ID, srcNodeId: SERVER_NODE_ID });
      const deflated = deflateMessage(message);
      message.metadata.messageId = deflated.id;
      const proto = messageToProto(new Message(new RecordDict(), { metadata: message.metadata }));
      const missing = link.router.pushAppInstruction(RUN_ID, proto, objectTreeOf(deflated));
      return { message, missing, bytes: objectsOf(deflated) };
    });
    expect(await link.router.pullInstruction(node1, 0)).toBeUndefined(); // objects not in yet
    for (const { missing, bytes } of pushed)
      for (const id of missing) {
        if (await link.objects.put(id, bytes.get(id) as Uint8Array))
          link.router.objectStored(SERVER_NODE_ID, id);
      }
    const [ins1, ins2] = pushed.map((p) => p.message) as [Message, Message];
    expect((await link.router.pullInstruction(node1, 0))?.tree.objectId).toBe(
      ins1.metadata.messageId,
    );
    await link.router.pullInstruction(node2, 0);

    // The app's pull waits (a minute at most here) and wakes when the last reply lands.
    const ids = [ins1.metadata.messageId, ins2.metadata.messageId];
    let woke = false;
    const waiting = link.router.waitForAppReplies(ids, 60_000).then(() => {
      woke = true;
    });
    const first = reply(ins1, [1, 1, 1], new MetricRecord({ n: 1 }));
    const push1 = pushReply(link, node1, first);
    for (const id of push1.missing) await push1.pushObject(id);
    await Promise.resolve();
    expect(woke).toBe(false); // one reply of two
    const second = reply(ins2, [2, 2, 2], new MetricRecord({ n: 2 }));
    const push2 = pushReply(link, node2, second);
    for (const id of push2.missing) await push2.pushObject(id);
    await waiting;

    const got = link.router.takeAppReplies(RUN_ID, ids);
    expect(got.map((r) => r.message.metadata?.messageId).sort()).toEqual(
      [first.metadata.messageId, second.metadata.messageId].sort(),
    );
    // The reply's objects stay for the app to pull until it confirms.
    expect(link.objects.get(second.metadata.messageId).available).toBe(true);
  });

  it("ServerAppIo: an instruction to a node gone offline gets a NODE_UNAVAILABLE reply the app can pull", async () => {
    const link = superlink(1);
    const [node] = link.nodeIds as [bigint];
    const ins = instruct(link.router, node);
    nodes.deactivate(node);
    await link.router.waitForAppReplies([ins.metadata.messageId], 60_000);
    const [got] = link.router.takeAppReplies(RUN_ID, [ins.metadata.messageId]);
    expect(got?.message.error?.code).toBe(5n);
    expect(got?.message.metadata?.replyToMessageId).toBe(ins.metadata.messageId);
    const id = got?.message.metadata?.messageId as string;
    expect(got?.tree.objectId).toBe(id);
    expect(link.objects.get(id).available).toBe(true);
  });
});
