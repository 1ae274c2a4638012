import { describe, expect, it } from "vitest";
import { GrpcMessageReader, grpcPrefix } from "../../core/wire/grpc-messages.ts";
import { alignArrayChunk } from "./align-chunk.ts";
import { objectId, parseObject } from "./inflate.ts";

const encoder = new TextEncoder();
/** `<type>  <length>\0<body>`, as a chunk object (no children) is written. */
const object = (type: string, body: Uint8Array) => {
  const header = encoder.encode(`${type}  ${body.byteLength}\0`);
  const bytes = new Uint8Array(header.byteLength + body.byteLength);
  bytes.set(header);
  bytes.set(body, header.byteLength);
  return bytes;
};
const body = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);

/** `bytes` as a gRPC message that arrives in pieces, gathered; `lead` bytes come before it. */
function gathered(bytes: Uint8Array, lead: number): Uint8Array {
  const message = new Uint8Array(lead + bytes.byteLength);
  message.set(bytes, lead);
  const wire = new Uint8Array(5 + message.byteLength);
  wire.set(grpcPrefix(message.byteLength));
  wire.set(message, 5);
  const reader = new GrpcMessageReader(2 ** 22);
  const out = [...reader.push(wire.subarray(0, 100)), ...reader.push(wire.subarray(100))];
  expect(out).toHaveLength(1);
  return (out[0] as Uint8Array).subarray(lead);
}

describe("alignArrayChunk", () => {
  it("aligns a model-sized chunk, gathered into shared memory, where it lies", () => {
    const large = Uint8Array.from({ length: 2 ** 21 }, (_, i) => i % 253);
    const chunk = object("ArrayChunk", large);
    const received = gathered(chunk, 3);
    expect(received.buffer).toBeInstanceOf(SharedArrayBuffer);
    const aligned = alignArrayChunk(received);
    expect(parseObject(aligned).body.byteOffset % 8).toBe(0);
    expect(aligned.buffer).toBe(received.buffer);
    expect(objectId(aligned)).toBe(objectId(chunk));
  });

  it.each([0, 1, 2, 3, 5, 7])(
    "moves a gathered ArrayChunk %i bytes into its message so its body starts 8-aligned",
    (lead) => {
      const chunk = object("ArrayChunk", body);
      const received = gathered(chunk, lead);
      const aligned = alignArrayChunk(received);
      const { body: alignedBody } = parseObject(aligned);
      expect(alignedBody.byteOffset % 8).toBe(0);
      expect(aligned.buffer).toBe(received.buffer);
      expect(objectId(aligned)).toBe(objectId(chunk));
    },
  );

  it("leaves other objects, and chunks with no room after them, where they are", () => {
    const other = gathered(object("Array", body), 3);
    expect(alignArrayChunk(other)).toBe(other);
    // A chunk that is not the end of a gathered message: the bytes after it are someone's.
    const inside = new Uint8Array(8192).subarray(3, 3 + object("ArrayChunk", body).byteLength);
    inside.set(object("ArrayChunk", body));
    expect(alignArrayChunk(inside)).toBe(inside);
  });
});
