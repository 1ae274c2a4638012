import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GrpcMessageReader, grpcPrefix } from "../../core/wire/grpc-messages.ts";
import {
  PullObjectResponseSchema,
  PushObjectRequestSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { alignArrayChunk, chunkBodyLead } from "./align-chunk.ts";
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

/** A PullObject response carrying `content` as it arrives in pieces, gathered with chunkBodyLead. */
function pulled(content: Uint8Array): Uint8Array {
  const response = create(PullObjectResponseSchema, {
    objectFound: true,
    objectAvailable: true,
    objectContent: content,
  });
  const message = toBinary(PullObjectResponseSchema, response);
  const wire = new Uint8Array(5 + message.byteLength);
  wire.set(grpcPrefix(message.byteLength));
  wire.set(message, 5);
  const reader = new GrpcMessageReader(2 ** 22, "response message", chunkBodyLead);
  // The prefix apart, as a server writes it, then the message in two pieces.
  const pieces = [wire.subarray(0, 5), wire.subarray(5, 200), wire.subarray(200)];
  const out = pieces.flatMap((piece) => [...reader.push(piece)]);
  expect(out).toHaveLength(1);
  expect(reader.atBoundary).toBe(true);
  return fromBinary(PullObjectResponseSchema, out[0] as Uint8Array).objectContent;
}

describe("chunkBodyLead", () => {
  it.each([300, 3000, 30_000, 300_000, 2 ** 21])(
    "places a pulled ArrayChunk of %i bytes so its body lands 8-aligned, with nothing to move",
    (length) => {
      const chunk = object(
        "ArrayChunk",
        Uint8Array.from({ length }, (_, i) => i % 241),
      );
      const content = pulled(chunk);
      expect(parseObject(content).body.byteOffset % 8).toBe(0);
      expect(alignArrayChunk(content)).toBe(content);
      expect(objectId(content)).toBe(objectId(chunk));
    },
  );

  it("places a pushed ArrayChunk (a PushObject request, as the SuperLink reads it) so its body lands 8-aligned", () => {
    const chunk = object(
      "ArrayChunk",
      Uint8Array.from({ length: 2 ** 21 }, (_, i) => i % 241),
    );
    const request = create(PushObjectRequestSchema, {
      node: { nodeId: 123456789n },
      runId: 42n,
      objectId: objectId(chunk),
      objectContent: chunk,
    });
    const message = toBinary(PushObjectRequestSchema, request);
    const reader = new GrpcMessageReader(2 ** 22, "request message", chunkBodyLead);
    const wire = [grpcPrefix(message.byteLength), message.subarray(0, 300), message.subarray(300)];
    const [gathered] = wire.flatMap((piece) => [...reader.push(piece)]);
    const content = fromBinary(PushObjectRequestSchema, gathered as Uint8Array).objectContent;
    expect(parseObject(content).body.byteOffset % 8).toBe(0);
    expect(objectId(content)).toBe(objectId(chunk));
  });

  it("places anything else at 0, and a message whose first bytes say too little", () => {
    expect(pulled(object("Array", body)).byteOffset % 8).not.toBe(0); // left where it fell
    const message = toBinary(
      PullObjectResponseSchema,
      create(PullObjectResponseSchema, {
        objectFound: true,
        objectContent: object("ArrayChunk", body),
      }),
    );
    expect(chunkBodyLead(message, message.byteLength)).not.toBe(0);
    expect(chunkBodyLead(message.subarray(0, 6), message.byteLength)).toBe(0);
    expect(chunkBodyLead(new Uint8Array(0), message.byteLength)).toBe(0);
  });
});
