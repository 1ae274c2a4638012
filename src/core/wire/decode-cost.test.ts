import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { StartRunRequestSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { PushMessagesRequestSchema } from "../../gen/flwr/proto/fleet_pb.ts";
import { PushObjectRequestSchema } from "../../gen/flwr/proto/message_pb.ts";
import {
  BytesListSchema,
  SintListSchema,
  StringListSchema,
} from "../../gen/flwr/proto/recorddict_pb.ts";
import { Code } from "../fedbridge-error.ts";
import { checkDecodeCost, DEFAULT_DECODE_BUDGET } from "./decode-cost.ts";

/** `n` copies of `record` (a tag and its value), back to back. */
function repeat(record: number[], n: number): Uint8Array {
  const bytes = new Uint8Array(record.length * n);
  for (let i = 0; i < n; i++) bytes.set(record, i * record.length);
  return bytes;
}

/** A packed field 1 of `n` one-byte varints. */
function packedVarints(n: number): Uint8Array {
  const length: number[] = [];
  for (let left = n; ; left >>>= 7) {
    if (left < 0x80) {
      length.push(left);
      break;
    }
    length.push((left & 0x7f) | 0x80);
  }
  const bytes = new Uint8Array(1 + length.length + n).fill(0x02);
  bytes.set([0x0a, ...length]);
  return bytes;
}

describe("checkDecodeCost", () => {
  it("charges little for what Flower nodes send: a 5 MiB object is one bytes field", () => {
    const request = create(PushObjectRequestSchema, {
      node: { nodeId: 7n },
      runId: 1n,
      objectId: "a".repeat(64),
      objectContent: new Uint8Array(5 * 2 ** 20),
    });
    expect(
      checkDecodeCost(PushObjectRequestSchema, toBinary(PushObjectRequestSchema, request)),
    ).toBeLessThan(1024);
  });

  it("charges nothing for unknown fields, which are dropped", () => {
    // The body: field 8, fixed64, repeated (9 bytes each).
    expect(
      checkDecodeCost(PushObjectRequestSchema, new Uint8Array(9 * 2 ** 20).fill(0x41)),
    ).toBeLessThan(1024);
  });

  it("refuses small bodies that decode into many objects: RESOURCE_EXHAUSTED", () => {
    const bodies: [DescMessage, Uint8Array][] = [
      [PushMessagesRequestSchema, repeat([0x12, 0x00], 2 ** 20)], // 1 Mi empty Messages
      [PushMessagesRequestSchema, repeat([0x1a, 0x00], 2 ** 20)], // 1 Mi empty ObjectTrees
      [SintListSchema, packedVarints(2 ** 20)], // 1 Mi bigints, packed
      [BytesListSchema, repeat([0x0a, 0x00], 2 ** 20)], // 1 Mi Uint8Arrays
    ];
    for (const [schema, bytes] of bodies) {
      expect(bytes.byteLength).toBeLessThanOrEqual(2 * 2 ** 20);
      expect(() => checkDecodeCost(schema, bytes), schema.typeName).toThrow(
        expect.objectContaining({ code: Code.ResourceExhausted }),
      );
    }
  });

  it("refuses messages nested deeper than protobuf-es decodes", () => {
    // ObjectTree.children (field 2 of ObjectTree, field 3 of the request), 150 levels deep.
    let tree = new Uint8Array(0);
    for (let i = 0; i < 150; i++)
      tree = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(tree).finish();
    const request = new BinaryWriter().tag(3, WireType.LengthDelimited).bytes(tree).finish();
    expect(() => checkDecodeCost(PushMessagesRequestSchema, request)).toThrow(/deeper than 100/);
    expect(() => fromBinary(PushMessagesRequestSchema, request)).toThrow(/recursion depth/);
  });

  it("estimates at least the heap that decoding keeps", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const n = 100_000;
    // run_config entries { "k0042": Scalar{uint64: 1} }, each key its own.
    const entries = new BinaryWriter();
    for (let i = 0; i < n; i++) {
      const entry = new BinaryWriter().tag(1, WireType.LengthDelimited).string(`k${i}`);
      entry.tag(2, WireType.LengthDelimited).bytes(new Uint8Array([0x30, 0x01]));
      entries.tag(3, WireType.LengthDelimited).bytes(entry.finish());
    }
    const shapes: [string, DescMessage, Uint8Array][] = [
      ["empty messages", PushMessagesRequestSchema, repeat([0x12, 0x00], n)],
      ["empty trees", PushMessagesRequestSchema, repeat([0x1a, 0x00], n)],
      ["bigints", SintListSchema, packedVarints(n)],
      ["byte arrays", BytesListSchema, repeat([0x0a, 0x01, 0x41], n)],
      ["short strings", StringListSchema, repeat([0x0a, 0x02, 0x61, 0x62], n)],
      ["strings", StringListSchema, repeat([0x0a, 0x0a, ...Array(10).fill(0x61)], n)],
      [
        "two-byte strings",
        StringListSchema,
        repeat([0x0a, 0x64, ...Array(50).fill([0xc4, 0x80]).flat()], n / 10),
      ],
      // Messages whose metadata is present but empty: one message inside another.
      ["nested messages", PushMessagesRequestSchema, repeat([0x12, 0x02, 0x0a, 0x00], n)],
      ["map entries", StartRunRequestSchema, entries.finish()],
    ];
    // The last shape's message is let go before a shape is measured, so it is not counted.
    let decoded: unknown;
    for (const [what, schema, bytes] of shapes) {
      const estimate = checkDecodeCost(schema, bytes, Number.POSITIVE_INFINITY);
      expect(estimate, what).toBeLessThan(DEFAULT_DECODE_BUDGET);
      // The least of three: work left by earlier tests in this thread can allocate meanwhile.
      let kept = Number.POSITIVE_INFINITY;
      for (let trial = 0; trial < 3; trial++) {
        decoded = undefined;
        gc();
        const before = process.memoryUsage().heapUsed;
        decoded = fromBinary(schema, bytes, { readUnknownFields: false });
        gc();
        kept = Math.min(kept, process.memoryUsage().heapUsed - before);
      }
      expect(decoded).toBeDefined();
      expect(kept, what).toBeLessThan(estimate);
    }
  });
});
