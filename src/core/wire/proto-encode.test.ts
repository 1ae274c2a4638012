import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CellFrameSchema } from "../../gen/fedbridge/v1/cell_pb.ts";
import {
  PullObjectResponseSchema,
  PushObjectRequestSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { encodeAroundLastBytes, encodeMessage, placeLastBytes } from "./proto-encode.ts";

const content = (n: number) => {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
};
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("encodeMessage", () => {
  it("writes the same bytes as toBinary for a message ending in a large bytes field", () => {
    for (const size of [0, 10, 64 * 1024, 5 * 2 ** 20 + 3]) {
      const push = create(PushObjectRequestSchema, {
        node: { nodeId: 12n },
        runId: 2n ** 60n,
        objectId: "ab".repeat(32),
        objectContent: content(size),
      });
      expect(
        same(encodeMessage(PushObjectRequestSchema, push), toBinary(PushObjectRequestSchema, push)),
      ).toBe(true);
      const pull = create(PullObjectResponseSchema, {
        objectFound: true,
        objectAvailable: true,
        objectContent: content(size),
      });
      const encoded = encodeMessage(PullObjectResponseSchema, pull);
      expect(same(encoded, toBinary(PullObjectResponseSchema, pull))).toBe(true);
      expect(same(fromBinary(PullObjectResponseSchema, encoded).objectContent, content(size))).toBe(
        true,
      );
    }
  });

  it("keeps fields it does not know, and messages of other shapes, as toBinary writes them", () => {
    const withUnknown = fromBinary(
      PullObjectResponseSchema,
      Uint8Array.from([
        ...toBinary(
          PullObjectResponseSchema,
          create(PullObjectResponseSchema, { objectContent: content(70_000) }),
        ),
        0x78,
        0x01,
      ]),
    );
    expect(
      same(
        encodeMessage(PullObjectResponseSchema, withUnknown),
        toBinary(PullObjectResponseSchema, withUnknown),
      ),
    ).toBe(true);
    const frame = create(CellFrameSchema, { kind: { case: "heartbeat", value: { sentAtMs: 5n } } });
    expect(encodeMessage(CellFrameSchema, frame)).toEqual(toBinary(CellFrameSchema, frame));
  });

  it("returns the encoding a large field was placed in, copying nothing, while the other fields match", () => {
    const model = content(100_000);
    const found = create(PullObjectResponseSchema, { objectFound: true, objectAvailable: true });
    const placed = placeLastBytes(PullObjectResponseSchema, found, model.length, (into) =>
      into.set(model),
    );
    const pull = create(PullObjectResponseSchema, { ...found, objectContent: placed });
    const encoded = encodeMessage(PullObjectResponseSchema, pull);
    expect(encoded.buffer).toBe(placed.buffer);
    expect(same(encoded, toBinary(PullObjectResponseSchema, pull))).toBe(true);
    // Another field than when placed: encoded anew, correctly.
    const other = create(PullObjectResponseSchema, { objectFound: true, objectContent: placed });
    const again = encodeMessage(PullObjectResponseSchema, other);
    expect(again.buffer).not.toBe(placed.buffer);
    expect(same(again, toBinary(PullObjectResponseSchema, other))).toBe(true);
    // The same bytes copied elsewhere are not the placed ones.
    const copy = create(PullObjectResponseSchema, { ...found, objectContent: placed.slice() });
    expect(encodeMessage(PullObjectResponseSchema, copy).buffer).not.toBe(placed.buffer);
  });

  it("encodes around a last bytes field given as pieces: the same bytes, the pieces themselves", () => {
    const head = new TextEncoder().encode("ArrayChunk  300000\0");
    const body = content(300_000);
    const request = create(PushObjectRequestSchema, { runId: 9n, objectId: "ab".repeat(32) });
    const size = head.byteLength + body.byteLength;
    const pieces = encodeAroundLastBytes(PushObjectRequestSchema, request, size, [head, body]);
    expect(pieces.at(-1)).toBe(body); // not copied
    const whole = Buffer.concat(pieces);
    const expected = toBinary(PushObjectRequestSchema, {
      ...request,
      objectContent: Buffer.concat([head, body]),
    });
    expect(same(whole, expected)).toBe(true);
  });
});
