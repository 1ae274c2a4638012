// Golden wire tests: bytes written by real Flower 1.28 (see /work/shared/fixtures/flower-1.28)
// must decode with our generated schemas, meet no unknown field, and encode back to the same bytes.
import { readFileSync } from "node:fs";
import { type DescMessage, fromBinary, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Fleet } from "../src/gen/flwr/proto/fleet_pb.ts";
import { MessageSchema } from "../src/gen/flwr/proto/message_pb.ts";
import {
  type ArrayRecord,
  ArrayRecordSchema,
  type ConfigRecord,
  ConfigRecordSchema,
  type MetricRecord,
  MetricRecordSchema,
  RecordDictSchema,
} from "../src/gen/flwr/proto/recorddict_pb.ts";

const fixtures = new URL("../../shared/fixtures/flower-1.28/", import.meta.url);
const readFixture = (path: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(path, fixtures)));
const readJsonl = <T>(path: string): T[] =>
  readFileSync(new URL(path, fixtures), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
const fromB64 = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, "base64"));

/** Paths of every `$unknown` found in a decoded message tree (protobuf-es keeps unknown fields there). */
function unknownFieldPaths(value: unknown, path = "$"): string[] {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFieldPaths(v, `${path}[${i}]`));
  const found = "$unknown" in value && value.$unknown !== undefined ? [path] : [];
  for (const [key, child] of Object.entries(value)) {
    if (key !== "$unknown") found.push(...unknownFieldPaths(child, `${path}.${key}`));
  }
  return found;
}

/** Decodes, checks for unknown fields and an exact re-encoding, returns the proto3 JSON form. */
function roundTrip(schema: DescMessage, bytes: Uint8Array, what: string): JsonValue {
  const message = fromBinary(schema, bytes);
  expect(unknownFieldPaths(message), `${what}: unknown fields`).toEqual([]);
  expect(
    Buffer.from(toBinary(schema, message)).equals(Buffer.from(bytes)),
    `${what}: re-encoding`,
  ).toBe(true);
  return toJson(schema, message);
}

// --- Fleet transcript --------------------------------------------------------------------------

interface Call {
  seq: number;
  method: string;
  request_b64: string;
  response_b64: string;
}
interface FleetObject {
  type: string;
  body_proto_type?: string;
  body?: JsonValue;
}
interface DecodedCall {
  seq: number;
  method: string;
  request_type: string;
  response_type: string;
  request: JsonValue;
  response: JsonValue;
  request_object?: FleetObject;
  response_object?: FleetObject;
}

const calls = readJsonl<Call>("fleet-transcript/calls.jsonl");
const decoded = new Map(
  readJsonl<DecodedCall>("fleet-transcript/calls.decoded.jsonl").map((d) => [d.seq, d]),
);

/** Request/response schemas of a full gRPC method name such as `/flwr.proto.Fleet/PullMessages`. */
function fleetMethod(path: string): { input: DescMessage; output: DescMessage } {
  const [, service, name] = path.split("/");
  expect(service).toBe(Fleet.typeName);
  const method = Fleet.methods.find((m) => m.name === name);
  if (method === undefined) throw new Error(`no Fleet method ${path}`);
  return method;
}

/** The protobuf body of an object (`<Type> <children> <len>\0<body>`), for the proto-bodied types. */
const objectBodySchemas: Record<string, DescMessage> = {
  "flwr.proto.Message": MessageSchema,
  "flwr.proto.ConfigRecord": ConfigRecordSchema,
  "flwr.proto.MetricRecord": MetricRecordSchema,
};
function objectBody(content: Uint8Array): Uint8Array {
  return content.subarray(content.indexOf(0) + 1);
}

interface JsonObject {
  [key: string]: JsonValue;
}
const obj = (value: JsonValue | undefined): JsonObject => value as JsonObject;

describe("Flower 1.28 Fleet transcript", () => {
  it("has the 85 recorded calls, each with its decoded twin", () => {
    expect(calls).toHaveLength(85);
    expect(decoded.size).toBe(85);
  });

  it("maps every method to our Fleet service and to Flower's message types", () => {
    for (const call of calls) {
      const { input, output } = fleetMethod(call.method);
      const twin = decoded.get(call.seq);
      expect(twin?.method).toBe(call.method);
      expect(input.typeName).toBe(twin?.request_type);
      expect(output.typeName).toBe(twin?.response_type);
    }
  });

  it.each(calls.map((c) => [c.seq, c.method, c] as const))(
    "call %i %s decodes, re-encodes byte-identically and matches Flower's decoding",
    (seq, method, call) => {
      const { input, output } = fleetMethod(method);
      const twin = decoded.get(seq);
      if (twin === undefined) throw new Error(`no decoded twin for seq ${seq}`);
      const request = roundTrip(input, fromB64(call.request_b64), `seq ${seq} request`);
      const response = roundTrip(output, fromB64(call.response_b64), `seq ${seq} response`);
      // Our proto3 JSON equals Python's MessageToDict output, field for field.
      expect(request).toEqual(twin.request);
      expect(response).toEqual(twin.response);

      // Object bodies that are protobuf (Message, ConfigRecord, MetricRecord) round-trip too.
      const object = twin.request_object ?? twin.response_object;
      const bodySchema = object?.body_proto_type && objectBodySchemas[object.body_proto_type];
      if (object && bodySchema) {
        const content = twin.request_object
          ? obj(request).objectContent
          : obj(response).objectContent;
        const body = objectBody(fromB64(content as string));
        expect(roundTrip(bodySchema, body, `seq ${seq} ${object.type} body`)).toEqual(object.body);
      }
    },
  );

  it("carries the recorded node id, run id and message types", () => {
    const nodeId = "11126951425996109130";
    const runId = "5958763935575601579";
    const json = new Map(
      calls.map((c) => {
        const { input, output } = fleetMethod(c.method);
        const req = toJson(input, fromBinary(input, fromB64(c.request_b64)));
        const res = toJson(output, fromBinary(output, fromB64(c.response_b64)));
        return [c.seq, { method: c.method.split("/")[2], req: obj(req), res: obj(res) }];
      }),
    );
    expect(json.get(1)?.res.nodeId).toBe(nodeId); // RegisterNode
    expect(json.get(2)?.res.nodeId).toBe(nodeId); // ActivateNode
    expect(obj(json.get(2)?.req).heartbeatInterval).toBe(30);
    expect(json.get(84)?.req.nodeId).toBe(nodeId); // DeactivateNode: a bare node_id
    expect(json.get(85)?.req.nodeId).toBe(nodeId); // UnregisterNode

    // Every call that names a Node names ours.
    for (const [, { req }] of json) {
      if (req.node !== undefined) expect(obj(req.node).nodeId).toBe(nodeId);
      if (req.runId !== undefined) expect(req.runId).toBe(runId);
    }

    // GetRun (seq 7): the run and its override config as sint64 scalars.
    const run = obj(json.get(7)?.res.run);
    expect(run.runId).toBe(runId);
    expect(run.overrideConfig).toEqual({
      "num-server-rounds": { sint64: "2" },
      "model-size": { sint64: "8" },
    });
    expect(obj(run.status).status).toBe("running");

    // Instructions pulled and replies pushed: train, evaluate, train, evaluate.
    const metadataOf = (list: JsonValue | undefined) =>
      ((list as JsonValue[] | undefined) ?? []).map((m) => obj(obj(m).metadata));
    const pulled = [...json.values()]
      .filter((c) => c.method === "PullMessages")
      .flatMap((c) => metadataOf(c.res.messagesList));
    const pushed = [...json.values()]
      .filter((c) => c.method === "PushMessages")
      .flatMap((c) => metadataOf(c.req.messagesList));
    const types = ["train", "evaluate", "train", "evaluate"];
    expect(pulled.map((m) => m.messageType)).toEqual(types);
    expect(pushed.map((m) => m.messageType)).toEqual(types);
    for (const m of pulled) {
      expect([m.runId, m.srcNodeId, m.dstNodeId]).toEqual([runId, "1", nodeId]);
    }
    for (const [i, m] of pushed.entries()) {
      expect([m.runId, m.srcNodeId, m.dstNodeId]).toEqual([runId, nodeId, "1"]);
      expect(m.replyToMessageId).toBe(pulled[i]?.messageId);
    }
  });
});

// --- Single records written by flwr.common.serde -----------------------------------------------

interface Manifest {
  "metricrecord.pb": { content: Record<string, number | number[]> };
  "configrecord.pb": { content: Record<string, unknown> };
  "message.pb": { metadata: Record<string, string | number> };
}
const manifest = JSON.parse(readFileSync(new URL("MANIFEST.json", fixtures), "utf8")) as Manifest;

/** The little-endian data of a `.npy` (v1/v2) file, after its header. */
function npyData(npy: Uint8Array): DataView {
  const view = new DataView(npy.buffer, npy.byteOffset, npy.byteLength);
  const major = npy[6];
  const headerEnd = major === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
  return new DataView(npy.buffer, npy.byteOffset + headerEnd, npy.byteLength - headerEnd);
}

function expectArrayRecord(record: ArrayRecord): void {
  const byKey = new Map(record.items.map((item) => [item.key, item.value]));
  expect([...byKey.keys()]).toEqual(["w", "b", "i"]);
  const w = byKey.get("w");
  const b = byKey.get("b");
  const i = byKey.get("i");
  expect([w?.dtype, w?.shape, w?.stype]).toEqual(["float32", [1], "numpy.ndarray"]);
  expect([b?.dtype, b?.shape]).toEqual(["float32", [2, 3]]);
  expect([i?.dtype, i?.shape]).toEqual(["int64", [3]]);
  if (!w || !b || !i) throw new Error("missing arrays");
  expect(npyData(w.data).getFloat32(0, true)).toBe(3);
  const bData = npyData(b.data);
  expect(Array.from({ length: 6 }, (_, k) => bData.getFloat32(k * 4, true))).toEqual([
    0, 1, 2, 3, 4, 5,
  ]);
  const iData = npyData(i.data);
  expect(Array.from({ length: 3 }, (_, k) => iData.getBigInt64(k * 8, true))).toEqual([
    1n,
    -2n,
    3n,
  ]);
}

function expectMetricRecord(record: MetricRecord): void {
  const want = manifest["metricrecord.pb"].content;
  expect(record.items.map((item) => item.key)).toEqual(Object.keys(want));
  const v = new Map(record.items.map((item) => [item.key, item.value?.value]));
  expect(v.get("loss")).toEqual({ case: "double", value: want.loss });
  expect(v.get("num-examples")).toEqual({
    case: "sint64",
    value: BigInt(want["num-examples"] as number),
  });
  const accList = v.get("acc-list");
  expect(accList?.case).toBe("doubleList");
  expect(accList?.case === "doubleList" && accList.value.vals).toEqual(want["acc-list"]);
  const counts = v.get("counts");
  expect(counts?.case).toBe("sintList");
  expect(counts?.case === "sintList" && counts.value.vals).toEqual([1n, 2n, 3n]);
}

function expectConfigRecord(record: ConfigRecord): void {
  expect(record.items.map((item) => item.key)).toEqual(
    Object.keys(manifest["configrecord.pb"].content),
  );
  const v = new Map(record.items.map((item) => [item.key, item.value?.value]));
  expect(v.get("lr")).toEqual({ case: "double", value: 0.01 });
  expect(v.get("epochs")).toEqual({ case: "sint64", value: 2n });
  expect(v.get("name")).toEqual({ case: "string", value: "site-1" });
  expect(v.get("flag")).toEqual({ case: "bool", value: true });
  const blob = v.get("blob");
  expect(blob?.case === "bytes" && Array.from(blob.value)).toEqual([0, 1]);
  const ids = v.get("ids");
  expect(ids?.case === "sintList" && ids.value.vals).toEqual([1n, 2n, 3n]);
  const tags = v.get("tags");
  expect(tags?.case === "stringList" && tags.value.vals).toEqual(["a", "b"]);
}

describe("Flower 1.28 records (flwr.common.serde)", () => {
  it("arrayrecord.pb: keys, dtypes, shapes and npy data", () => {
    const bytes = readFixture("arrayrecord.pb");
    roundTrip(ArrayRecordSchema, bytes, "arrayrecord.pb");
    expectArrayRecord(fromBinary(ArrayRecordSchema, bytes));
  });

  it("metricrecord.pb: double, sint64 and list values", () => {
    const bytes = readFixture("metricrecord.pb");
    roundTrip(MetricRecordSchema, bytes, "metricrecord.pb");
    expectMetricRecord(fromBinary(MetricRecordSchema, bytes));
  });

  it("configrecord.pb: every scalar and list kind used", () => {
    const bytes = readFixture("configrecord.pb");
    roundTrip(ConfigRecordSchema, bytes, "configrecord.pb");
    expectConfigRecord(fromBinary(ConfigRecordSchema, bytes));
  });

  it("recorddict.pb: the three records under their names", () => {
    const bytes = readFixture("recorddict.pb");
    roundTrip(RecordDictSchema, bytes, "recorddict.pb");
    const dict = fromBinary(RecordDictSchema, bytes);
    expect(dict.items.map((item) => [item.key, item.value.case])).toEqual([
      ["arrays", "arrayRecord"],
      ["metrics", "metricRecord"],
      ["config", "configRecord"],
    ]);
    for (const { value } of dict.items) {
      if (value.case === "arrayRecord") expectArrayRecord(value.value);
      if (value.case === "metricRecord") expectMetricRecord(value.value);
      if (value.case === "configRecord") expectConfigRecord(value.value);
    }
  });

  it("message.pb: metadata as in MANIFEST.json, content equal to recorddict.pb", () => {
    const bytes = readFixture("message.pb");
    roundTrip(MessageSchema, bytes, "message.pb");
    const message = fromBinary(MessageSchema, bytes);
    const want = manifest["message.pb"].metadata;
    const md = message.metadata;
    expect(md).toBeDefined();
    expect(md?.runId).toBe(BigInt(want.run_id as number));
    expect(md?.messageId).toBe(want.message_id);
    expect(md?.srcNodeId).toBe(BigInt(want.src_node_id as number));
    expect(md?.dstNodeId).toBe(BigInt(want.dst_node_id as number));
    expect(md?.replyToMessageId).toBe(want.reply_to_message_id);
    expect(md?.groupId).toBe(want.group_id);
    expect(md?.createdAt).toBe(want.created_at);
    expect(md?.ttl).toBe(want.ttl);
    expect(md?.messageType).toBe(want.message_type);
    expect(message.error).toBeUndefined();
    if (message.content === undefined) throw new Error("message.pb has no content");
    expect(toBinary(RecordDictSchema, message.content)).toEqual(readFixture("recorddict.pb"));
  });
});
