import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ObjectTreeSchema } from "../../gen/flwr/proto/message_pb.ts";
import { Message } from "../message/message.ts";
import type { Metadata } from "../message/metadata.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { type DeflatedObject, deflateMessage } from "./deflate.ts";
import { inflateMessage, listPostOrder, objectId, objectTreeOf } from "./inflate.ts";
import { ObjectStore } from "./object-store.ts";

const model = new ArrayRecord({ w: FlowerArray.fromTypedArray(new Float32Array([1, 2, 3])) });

/** An instruction to `dstNodeId` carrying the shared model. */
function instruction(dstNodeId: bigint, runId = 1n): DeflatedObject {
  const metadata: Metadata = {
    runId,
    messageId: "",
    srcNodeId: 1n,
    dstNodeId,
    replyToMessageId: "",
    groupId: "",
    ttl: 43200,
    messageType: "train",
    createdAt: 1750000000,
  };
  const content = new RecordDict({ arrays: model, config: new ConfigRecord({ lr: 0.1 }) });
  return deflateMessage(new Message(content, { metadata }));
}

function objectsOf(root: DeflatedObject, out = new Map<string, Uint8Array>()) {
  out.set(root.id, root.bytes);
  for (const child of root.children) objectsOf(child, out);
  return out;
}

const sizeOf = (objects: Map<string, Uint8Array>) =>
  [...objects.values()].reduce((total, bytes) => total + bytes.length, 0);

async function codeOf(run: () => unknown): Promise<Code | undefined> {
  try {
    await run();
  } catch (e) {
    return e instanceof FedbridgeError ? e.code : undefined;
  }
  return undefined;
}

describe("ObjectStore (the SuperLink's object store)", () => {
  it("moves objects from unknown to registered to available, as PullObject reports", async () => {
    const store = new ObjectStore();
    const message = instruction(42n);
    const tree = objectTreeOf(message);
    const objects = objectsOf(message);
    expect(store.get(message.id)).toEqual({ found: false, available: false });

    const missing = store.preregister(1n, tree);
    expect(missing).toEqual(listPostOrder(tree));
    expect(store.has(message.id)).toBe(true);
    expect(store.get(message.id)).toEqual({ found: true, available: false });

    for (const id of missing) expect(await store.put(id, objects.get(id) as Uint8Array)).toBe(true);
    expect(store.get(message.id).bytes).toBe(objects.get(message.id)); // the same array, no copy
    expect(store.size).toBe(sizeOf(objects));
    expect(await store.put(message.id, objects.get(message.id) as Uint8Array)).toBe(true); // no-op
    expect(store.size).toBe(sizeOf(objects));
    expect(store.preregister(1n, tree)).toEqual([]);
    expect(store.objectTree(message.id)).toEqual(tree);
    const back = inflateMessage(message.id, (id) => store.get(id).bytes);
    expect(deflateMessage(back).id).toBe(message.id);
  });

  it("refuses bytes that do not hash to the id, and objects never preregistered", async () => {
    const store = new ObjectStore();
    const message = instruction(42n);
    store.preregister(1n, objectTreeOf(message));
    const chunk = message.children[0]?.children[0]?.children[0]?.children[0] as DeflatedObject;
    const tampered = chunk.bytes.slice();
    tampered[tampered.length - 1] ^= 1;
    expect(await store.put(chunk.id, tampered)).toBe(false);
    expect(store.get(chunk.id).available).toBe(false);

    const stranger = new TextEncoder().encode("ArrayChunk  1\0x");
    expect(await store.put(objectId(stranger), stranger)).toBe(false);
    expect(store.has(objectId(stranger))).toBe(false);
    expect(store.size).toBe(0);
  });

  it("hashes large shared objects aside, storing those that match their id only", async () => {
    const big = new ArrayRecord({ w: FlowerArray.fromTypedArray(new Float32Array(2 ** 19)) });
    const message = deflateMessage(
      new Message(new RecordDict({ big }), { dstNodeId: 7n, messageType: "train" }),
    );
    const store = new ObjectStore();
    store.preregister(1n, objectTreeOf(message));
    const chunk = message.children[0]?.children[0]?.children[0]?.children[0] as DeflatedObject;
    const shared = new Uint8Array(new SharedArrayBuffer(chunk.bytes.length));
    shared.set(chunk.bytes);
    const tampered = new Uint8Array(new SharedArrayBuffer(chunk.bytes.length));
    tampered.set(chunk.bytes);
    tampered[tampered.length - 1] ^= 1;
    expect(shared.length).toBeGreaterThan(2 ** 20);
    expect(await store.put(chunk.id, tampered)).toBe(false);
    expect(store.get(chunk.id).available).toBe(false);
    expect(await store.put(chunk.id, shared)).toBe(true);
    expect(store.get(chunk.id).bytes).toBe(shared);
  });

  it("answers a malformed object with FAILED_PRECONDITION", async () => {
    const store = new ObjectStore();
    const bad = new TextEncoder().encode("Tensor  1\0x");
    store.preregister(1n, create(ObjectTreeSchema, { objectId: objectId(bad) }));
    expect(await codeOf(() => store.put(objectId(bad), bad))).toBe(Code.FailedPrecondition);

    // Children other than the preregistered tree's would corrupt the reference counts.
    const message = instruction(42n);
    store.preregister(1n, create(ObjectTreeSchema, { objectId: message.id }));
    expect(await codeOf(() => store.put(message.id, message.bytes))).toBe(Code.FailedPrecondition);
  });

  it("rejects a tree with an invalid id before registering anything", async () => {
    const store = new ObjectStore();
    const tree = objectTreeOf(instruction(42n));
    tree.children[0]?.children.push(create(ObjectTreeSchema, { objectId: "not-a-hash" }));
    expect(await codeOf(() => store.preregister(1n, tree))).toBe(Code.InvalidArgument);
    expect(store.count).toBe(0);
  });

  it("keeps an object built here as its pieces, the last one the array's own bytes", () => {
    const w = FlowerArray.fromTypedArray(new Float32Array([1, 2, 3, 4]));
    const content = new RecordDict({ model: new ArrayRecord({ w }) });
    const message = deflateMessage(new Message(content, { dstNodeId: 7n, messageType: "train" }));
    const store = new ObjectStore();
    store.putDeflated(message, 1n);
    const chunk = message.children[0]?.children[0]?.children[0]?.children[0] as DeflatedObject;
    const { pieces, size, bytes } = store.get(chunk.id);
    expect(pieces?.at(-1)?.buffer).toBe(w.data.buffer); // served from the model, not a copy
    expect(size).toBe(chunk.size);
    expect(Buffer.concat(pieces ?? [])).toEqual(Buffer.from(chunk.join()));
    expect(bytes).toEqual(chunk.join());
    expect(store.size).toBe(sizeOf(objectsOf(message)));
  });

  it("deletes a confirmed message and only the objects no other message uses", () => {
    const store = new ObjectStore();
    const [a, b] = [instruction(42n), instruction(43n)];
    store.putDeflated(a, 1n);
    store.putDeflated(b, 1n);
    const shared = a.children[0] as DeflatedObject; // same content: one RecordDict, counted twice
    expect(b.children[0]?.id).toBe(shared.id);
    expect(store.count).toBe(objectsOf(a).size + 1);

    store.delete(shared.id); // still referenced by both messages: kept
    expect(store.has(shared.id)).toBe(true);
    store.delete(a.id);
    expect(store.has(a.id)).toBe(false);
    expect(store.get(shared.id).available).toBe(true);
    expect(store.size).toBe(sizeOf(objectsOf(b)));
    store.delete(b.id);
    expect(store.count).toBe(0);
    expect(store.size).toBe(0);
  });

  it("deletes a finished run's messages, keeping objects another run still uses", () => {
    const store = new ObjectStore();
    const [first, second] = [instruction(42n, 1n), instruction(42n, 2n)];
    store.putDeflated(first, 1n);
    store.putDeflated(second, 2n);
    store.deleteRun(1n);
    expect(store.has(first.id)).toBe(false);
    expect(store.has(second.id)).toBe(true);
    expect(store.size).toBe(sizeOf(objectsOf(second)));
    store.deleteRun(2n);
    expect(store.count).toBe(0);
  });
});
