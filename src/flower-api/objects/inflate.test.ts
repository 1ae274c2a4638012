import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  PullMessagesResponseSchema,
  PushMessagesRequestSchema,
  PushMessagesResponseSchema,
} from "../../gen/flwr/proto/fleet_pb.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
  PullObjectRequestSchema,
  PullObjectResponseSchema,
  PushObjectRequestSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageFromProto } from "../message/message-serde.ts";
import type { Metadata } from "../message/metadata.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ARRAY_CHUNK_SIZE, type DeflatedObject, deflateArray, deflateMessage } from "./deflate.ts";
import {
  inflateMessage,
  listPostOrder,
  objectId,
  objectTreeOf,
  parseObject,
  verifyObject,
} from "./inflate.ts";
import { ObjectStore } from "./object-store.ts";

const metadata: Metadata = {
  runId: 7n,
  messageId: "",
  srcNodeId: 1n,
  dstNodeId: 42n,
  replyToMessageId: "",
  groupId: "3",
  ttl: 43200,
  messageType: "train",
  createdAt: 1750000000.25,
};

/** Every object of a deflated tree by id, as a store would hold them. */
function objectsOf(root: DeflatedObject, out = new Map<string, Uint8Array>()) {
  out.set(root.id, root.bytes);
  for (const child of root.children) objectsOf(child, out);
  return out;
}

function roundTrip(message: Message): Message {
  const deflated = deflateMessage(message);
  const objects = objectsOf(deflated);
  const inflated = inflateMessage(deflated.id, (id) => objects.get(id));
  expect(inflated.metadata.messageId).toBe(deflated.id);
  expect(deflateMessage(inflated).id).toBe(deflated.id);
  return inflated;
}

const bytesOf = (text: string) => new TextEncoder().encode(text);
const object = (head: string, body: string) => bytesOf(`${head} ${bytesOf(body).length}\0${body}`);

function codeOf(run: () => unknown): Code | undefined {
  try {
    run();
  } catch (e) {
    return e instanceof FedbridgeError ? e.code : undefined;
  }
  return undefined;
}

describe("inflate (Flower's object tree back to a Message)", () => {
  it("round-trips every record type, keeping the order of names", () => {
    const content = new RecordDict({
      model: new ArrayRecord({
        w: FlowerArray.fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
        b: FlowerArray.fromTypedArray(new BigInt64Array([-1n, 2n ** 40n])),
        empty: new FlowerArray({ dtype: "str", shape: [0], stype: "raw", data: new Uint8Array(0) }),
      }),
      metrics: new MetricRecord({ loss: 0.25, n: 10, big: 2n ** 63n, hist: [1, 2, 3] }),
      config: new ConfigRecord({ zeta: "é", lr: 0.1, flag: true, blob: new Uint8Array([0, 1]) }),
    });
    const back = roundTrip(new Message(content, { metadata }));
    expect({ ...back.metadata, messageId: "" }).toEqual(metadata);
    expect([...back.content.keys()]).toEqual(["model", "metrics", "config"]);
    const model = back.content.get("model") as ArrayRecord;
    expect([...model.keys()]).toEqual(["w", "b", "empty"]);
    expect(model.get("w")?.shape).toEqual([2, 3]);
    expect([...(model.get("w")?.toTypedArray() ?? [])]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(model.get("b")?.toTypedArray()).toEqual(new BigInt64Array([-1n, 2n ** 40n]));
    expect(model.get("empty")?.data.length).toBe(0);
    expect((back.content.get("metrics") as MetricRecord).toObject()).toEqual({
      loss: 0.25,
      n: 10,
      big: 2n ** 63n,
      hist: [1, 2, 3],
    });
    const config = back.content.get("config") as ConfigRecord;
    expect([...config.keys()]).toEqual(["zeta", "lr", "flag", "blob"]);
    expect(config.get("blob")).toEqual(new Uint8Array([0, 1]));
  });

  it("round-trips an error reply and an empty content", () => {
    const ins = new Message(new RecordDict(), {
      metadata: { ...metadata, messageId: "a".repeat(64) },
    });
    const failed = roundTrip(
      new Message(new MessageError(2, "ClientApp raised"), { replyTo: ins }),
    );
    expect(failed.hasError()).toBe(true);
    expect(failed.error.code).toBe(2);
    expect(failed.error.reason).toBe("ClientApp raised");
    expect(failed.metadata.replyToMessageId).toBe("a".repeat(64));
    expect(roundTrip(ins).content.size).toBe(0);
  });

  it("rebuilds a >5 MiB array from repeated chunks in one allocation, reading each chunk once", () => {
    const data = new Uint8Array(2 * ARRAY_CHUNK_SIZE + 1000);
    for (let i = 0; i < data.length; i++) data[i] = (i % ARRAY_CHUNK_SIZE) % 251;
    const array = new FlowerArray({ dtype: "uint8", shape: [data.length], stype: "raw", data });
    const shared = new ArrayRecord({ a: array, again: array });
    const message = new Message(new RecordDict({ x: shared, y: new ArrayRecord({ z: array }) }), {
      metadata,
    });
    const deflated = deflateMessage(message);
    const objects = objectsOf(deflated);
    const reads = new Map<string, number>();
    const back = inflateMessage(deflated.id, (id) => {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return objects.get(id);
    });
    const out = (back.content.get("x") as ArrayRecord).get("a") as FlowerArray;
    expect(out.data.buffer.byteLength).toBe(data.length);
    expect(Buffer.compare(out.data, data)).toBe(0);
    expect((back.content.get("y") as ArrayRecord).get("z")).toBe(out); // one id, one FlowerArray
    const chunkIds = deflated.children[0]?.children[0]?.children[0]?.children.map((c) => c.id);
    expect(chunkIds).toHaveLength(2);
    for (const id of chunkIds ?? []) expect(reads.get(id)).toBe(1);
    expect(deflateMessage(back).id).toBe(deflated.id);
  });

  it("knows an inflated array's id from the object it came from, without hashing its bytes", () => {
    const data = new Uint8Array(ARRAY_CHUNK_SIZE + 10).fill(7);
    const array = new FlowerArray({ dtype: "uint8", shape: [data.length], stype: "raw", data });
    const message = new Message(new RecordDict({ x: new ArrayRecord({ a: array }) }), {
      metadata,
    });
    const deflated = deflateMessage(message);
    const objects = objectsOf(deflated);
    const back = inflateMessage(deflated.id, (id) => objects.get(id));
    const known = deflateArray((back.content.get("x") as ArrayRecord).get("a") as FlowerArray);
    expect(known.bytes).toBe(objects.get(known.id)); // the received object itself
    expect(known.children.map((c) => c.bytes)).toEqual(
      known.children.map((c) => objects.get(c.id)),
    );
    expect(deflateMessage(back).id).toBe(deflated.id);
  });

  it("hashes again an inflated array that its sender chunked otherwise than Flower does", () => {
    const stored = (head: string, body: Uint8Array) => {
      const bytes = Buffer.concat([Buffer.from(`${head} ${body.length}\0`), body]);
      return { id: objectId(bytes), bytes };
    };
    const halves = [
      stored("ArrayChunk ", new Uint8Array([1, 2])),
      stored("ArrayChunk ", new Uint8Array([3])),
    ];
    const ids = halves.map((h) => h.id);
    const arrayObject = stored(
      `Array ${ids.join(",")}`,
      Buffer.from(`{"dtype": "uint8", "shape": [3], "stype": "raw", "arraychunk_ids": [0, 1]}`),
    );
    const record = stored(
      `ArrayRecord ${arrayObject.id}`,
      Buffer.from(`{"a": "${arrayObject.id}"}`),
    );
    const objects = new Map([...halves, arrayObject, record].map((o) => [o.id, o.bytes]));
    const dict = stored(`RecordDict ${record.id}`, Buffer.from(`{"x": "${record.id}"}`));
    const root = stored(
      `Message ${dict.id}`,
      toBinary(MessageSchema, create(MessageSchema, { metadata: { messageType: "train" } })),
    );
    objects.set(dict.id, dict.bytes).set(root.id, root.bytes);
    const back = inflateMessage(root.id, (id) => objects.get(id));
    const array = (back.content.get("x") as ArrayRecord).get("a") as FlowerArray;
    expect([...array.data]).toEqual([1, 2, 3]);
    // Deflated as Flower would chunk it: one chunk, so another id than the object it came from.
    expect(deflateArray(array).id).not.toBe(arrayObject.id);
    expect(deflateArray(array).children).toHaveLength(1);
  });

  it("keeps names in body order, even integer-like ones JSON.parse would move", () => {
    const config = object("ConfigRecord ", "");
    const cid = objectId(config);
    const dict = object(`RecordDict ${cid}`, `{"b": "${cid}", "10": "${cid}", "2": "${cid}"}`);
    const msg = object(`Message ${objectId(dict)}`, "");
    const objects = new Map([config, dict, msg].map((o) => [objectId(o), o]));
    const back = inflateMessage(objectId(msg), (id) => objects.get(id));
    expect([...back.content.keys()]).toEqual(["b", "10", "2"]);
  });

  it("applies a metadata override but keeps the root id as message id", () => {
    const deflated = deflateMessage(new Message(new RecordDict(), { metadata }));
    const objects = objectsOf(deflated);
    const back = inflateMessage(deflated.id, (id) => objects.get(id), { ttl: 5, groupId: "g" });
    expect(back.metadata).toMatchObject({ ttl: 5, groupId: "g", messageId: deflated.id });
    const wrong = () => inflateMessage(deflated.id, (id) => objects.get(id), { messageId: "x" });
    expect(codeOf(wrong)).toBe(Code.InvalidArgument);
  });

  it("names a missing object and rejects a tree of the wrong types", () => {
    const deflated = deflateMessage(
      new Message(new RecordDict({ c: new ConfigRecord() }), { metadata }),
    );
    const objects = objectsOf(deflated);
    const recordId = deflated.children[0]?.children[0]?.id as string;
    objects.delete(recordId);
    expect(() => inflateMessage(deflated.id, (id) => objects.get(id))).toThrow(recordId);
    expect(codeOf(() => inflateMessage(deflated.id, (id) => objects.get(id)))).toBe(Code.NotFound);
    const dictId = deflated.children[0]?.id as string;
    expect(codeOf(() => inflateMessage(dictId, (id) => objects.get(id)))).toBe(
      Code.InvalidArgument,
    );
  });

  it("rejects bodies that disagree with their headers", () => {
    const config = object("ConfigRecord ", "");
    const cid = objectId(config);
    const inflateWith = (dictBody: string, extra: Uint8Array[] = []) => {
      const dict = object(`RecordDict ${cid}`, dictBody);
      const msg = object(`Message ${objectId(dict)}`, "");
      const objects = new Map([config, dict, msg, ...extra].map((o) => [objectId(o), o]));
      return () => inflateMessage(objectId(msg), (id) => objects.get(id));
    };
    expect(codeOf(inflateWith(`{"a": "${"0".repeat(64)}"}`))).toBe(Code.InvalidArgument);
    expect(codeOf(inflateWith(`{"a": 1}`))).toBe(Code.InvalidArgument);
    expect(codeOf(inflateWith("not json"))).toBe(Code.InvalidArgument);
    for (const arrayBody of [
      "null",
      '{"dtype": "u1", "shape": [1], "stype": "raw", "arraychunk_ids": [1]}',
    ]) {
      const chunk = object("ArrayChunk ", "x");
      const array = object(`Array ${objectId(chunk)}`, arrayBody);
      const record = object(`ArrayRecord ${objectId(array)}`, `{"x": "${objectId(array)}"}`);
      const dict = object(`RecordDict ${objectId(record)}`, `{"r": "${objectId(record)}"}`);
      const msg = object(`Message ${objectId(dict)}`, "");
      const objects = new Map([chunk, array, record, dict, msg].map((o) => [objectId(o), o]));
      const run = () => inflateMessage(objectId(msg), (id) => objects.get(id));
      expect(() => run()).toThrow(/arraychunk_ids/);
    }
  });

  it("parses headers and rejects malformed objects with FAILED_PRECONDITION", () => {
    const chunk = object("ArrayChunk ", "abc");
    expect(parseObject(chunk)).toEqual({
      type: "ArrayChunk",
      childIds: [],
      body: bytesOf("abc"),
      bytes: chunk,
    });
    expect(verifyObject(objectId(chunk), chunk)).toBe(true);
    expect(verifyObject("0".repeat(64), chunk)).toBe(false);
    const bad = [
      bytesOf("ArrayChunk  3abc"), // no NUL
      object("ArrayChunk", "abc"), // two parts
      object("Tensor ", "abc"), // unknown type
      object("RecordDict abc", "{}"), // child id not 64-hex
      bytesOf("ArrayChunk  4\0abc"), // length mismatch
    ];
    for (const bytes of bad) {
      expect(codeOf(() => parseObject(bytes))).toBe(Code.FailedPrecondition);
    }
    expect(() => parseObject(bad[2] as Uint8Array)).toThrow(/unknown object type 'Tensor'/);
  });

  it("lists a tree's ids once, children first, and rebuilds the ObjectTree", () => {
    const array = FlowerArray.fromTypedArray(new Float32Array(3));
    const content = new RecordDict({
      a: new ArrayRecord({ x: array }),
      b: new ArrayRecord({ y: array }),
    });
    const deflated = deflateMessage(new Message(content, { metadata }));
    const tree = objectTreeOf(deflated);
    const ids = listPostOrder(tree);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(objectsOf(deflated).size);
    expect(ids.at(-1)).toBe(deflated.id);
    const check = (node: ObjectTree): void => {
      for (const child of node.children) {
        expect(ids.indexOf(child.objectId)).toBeLessThan(ids.indexOf(node.objectId));
        check(child);
      }
    };
    check(tree);
  });
});

interface Call {
  seq: number;
  method: string;
  request_b64: string;
  response_b64: string;
}

const calls: Call[] = readFileSync(
  new URL("../../../../shared/fixtures/flower-1.28/fleet-transcript/calls.jsonl", import.meta.url),
  "utf8",
)
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line) as Call);
const b64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const rpc = (call: Call) => call.method.replace("/flwr.proto.Fleet/", "");

describe("golden: a real Flower 1.28 SuperNode's Fleet transcript", () => {
  const objects = new Map<string, Uint8Array>();
  let objectCalls = 0;
  for (const call of calls) {
    if (rpc(call) === "PullObject") {
      const { objectId: id } = fromBinary(PullObjectRequestSchema, b64(call.request_b64));
      objects.set(id, fromBinary(PullObjectResponseSchema, b64(call.response_b64)).objectContent);
      objectCalls++;
    } else if (rpc(call) === "PushObject") {
      const request = fromBinary(PushObjectRequestSchema, b64(call.request_b64));
      objects.set(request.objectId, request.objectContent);
      objectCalls++;
    }
  }
  /** Messages with their trees: instructions as pulled, replies as pushed. */
  const exchanged: {
    kind: "instruction" | "reply";
    proto: MessageProto;
    tree: ObjectTree;
    seq: number;
  }[] = [];
  for (const call of calls) {
    if (rpc(call) === "PullMessages" && call.response_b64 !== "") {
      const response = fromBinary(PullMessagesResponseSchema, b64(call.response_b64));
      response.messagesList.forEach((proto, i) => {
        exchanged.push({
          kind: "instruction",
          proto,
          tree: response.messageObjectTrees[i] as ObjectTree,
          seq: call.seq,
        });
      });
    } else if (rpc(call) === "PushMessages") {
      const request = fromBinary(PushMessagesRequestSchema, b64(call.request_b64));
      request.messagesList.forEach((proto, i) => {
        exchanged.push({
          kind: "reply",
          proto,
          tree: request.messageObjectTrees[i] as ObjectTree,
          seq: call.seq,
        });
      });
    }
  }

  it("holds 54 object transfers, each object's id being the SHA-256 of its bytes", () => {
    expect(objectCalls).toBe(54);
    for (const [id, bytes] of objects) {
      expect(verifyObject(id, bytes)).toBe(true);
      expect(() => parseObject(bytes)).not.toThrow();
    }
  });

  it("inflates all 4 instructions and 4 replies and deflates them back to the real ids", () => {
    expect(exchanged.map((e) => `${e.kind}:${e.proto.metadata?.messageType}`)).toEqual([
      "instruction:train",
      "reply:train",
      "instruction:evaluate",
      "reply:evaluate",
      "instruction:train",
      "reply:train",
      "instruction:evaluate",
      "reply:evaluate",
    ]);
    for (const { proto, tree } of exchanged) {
      const wire = messageFromProto(proto);
      expect(wire.metadata.messageId).toBe(tree.objectId);
      const message = inflateMessage(tree.objectId, (id) => objects.get(id));
      expect(message.metadata).toEqual(wire.metadata);
      const deflated = deflateMessage(message);
      expect(deflated.id).toBe(tree.objectId);
      expect(objectTreeOf(deflated)).toEqual(tree);
      for (const [id, bytes] of objectsOf(deflated)) expect(bytes).toEqual(objects.get(id));
    }
  });

  it("gives sensible records: the model, the round's config, the replies' metrics", () => {
    const inflate = (i: number) => {
      const { tree } = exchanged[i] as (typeof exchanged)[number];
      return inflateMessage(tree.objectId, (id) => objects.get(id)).content;
    };
    const train = inflate(0);
    expect([...train.keys()]).toEqual(["arrays", "config"]);
    const model = train.get("arrays") as ArrayRecord;
    expect([...model.keys()]).toEqual(["0", "1"]);
    expect([...model.values()].map((a) => [a.dtype, a.shape])).toEqual([
      ["float32", [8]],
      ["float32", [4, 4]],
    ]);
    expect(model.toTypedArrays()).toEqual([new Float32Array(8), new Float32Array(16)]);
    const config = train.get("config") as ConfigRecord;
    expect(config.toObject()).toEqual({ lr: 0.1, "server-round": 1 });
    expect(config.kindOf("server-round")).toBe("sint64");
    expect((inflate(4).get("config") as ConfigRecord).get("server-round")).toBe(2);
    expect((inflate(2).get("config") as ConfigRecord).toObject()).toEqual({ "server-round": 1 });

    const trainReply = inflate(1);
    expect((trainReply.get("metrics") as MetricRecord).get("num-examples")).toBe(10);
    // Every weight moves alike: node A trains toward 1, the unrecorded node B toward 2, and
    // FedAvg's mean reaches the 0.285 the ServerApp printed as final_mean.
    const weights = (i: number) => [
      ...new Set(
        (inflate(i).get("arrays") as ArrayRecord)
          .toTypedArrays()
          .flatMap((a) => [...a].map(Number)),
      ),
    ];
    const expected = [0, 0.1, 0.15, 0.15, 0.235, 0.285];
    [0, 1, 2, 4, 5, 6].forEach((i, k) => {
      expect(weights(i)).toHaveLength(1);
      expect(weights(i)[0]).toBeCloseTo(expected[k] as number, 6);
    });
    expect([...(inflate(3).get("metrics") as MetricRecord).keys()]).toEqual([
      "eval_loss",
      "num-examples",
    ]);
  });

  it("answers the real PushMessages: preregistering a reply asks for all its objects", async () => {
    const pushes = calls.filter((c) => rpc(c) === "PushMessages");
    for (const push of pushes) {
      const request = fromBinary(PushMessagesRequestSchema, b64(push.request_b64));
      const response = fromBinary(PushMessagesResponseSchema, b64(push.response_b64));
      const store = new ObjectStore();
      const tree = request.messageObjectTrees[0] as ObjectTree;
      const missing = store.preregister(
        BigInt(request.messagesList[0]?.metadata?.runId ?? 0n),
        tree,
      );
      expect(new Set(missing)).toEqual(new Set(response.objectsToPush));
      for (const id of listPostOrder(tree))
        expect(await store.put(id, objects.get(id) as Uint8Array)).toBe(true);
      const reply = inflateMessage(tree.objectId, (id) => store.get(id).bytes);
      expect(reply.metadata.messageId).toBe(Object.keys(response.results)[0]);
    }
  });
});
