import { describe, expect, it } from "vitest";
import { GATHERED_SLACK_BYTES } from "./gathered-slack.ts";
import { GrpcMessageReader, grpcPrefix } from "./grpc-messages.ts";

const message = Uint8Array.from({ length: 1000 }, (_, i) => i % 256);
const wire = new Uint8Array([...grpcPrefix(message.byteLength), ...message]);

describe("GrpcMessageReader", () => {
  it("gives a message that came in one piece as a view of it", () => {
    const [out] = [...new GrpcMessageReader(2 ** 20).push(wire)];
    expect(out).toEqual(message);
    expect(out?.buffer).toBe(wire.buffer);
  });

  it("places a gathered message `lead` bytes in, from its first bytes, waiting for them past a prefix sent apart", () => {
    const heads: number[] = [];
    const reader = new GrpcMessageReader(2 ** 20, "message", (head, length) => {
      heads.push(head.byteLength);
      expect(length).toBe(message.byteLength);
      return 3;
    });
    expect([...reader.push(wire.subarray(0, 5))]).toEqual([]);
    expect(reader.atBoundary).toBe(false); // the stream may not end between prefix and message
    expect([...reader.push(wire.subarray(5, 105))]).toEqual([]);
    const [out] = [...reader.push(wire.subarray(105))];
    expect(heads).toEqual([100]);
    expect(Uint8Array.from(out ?? [])).toEqual(message);
    expect(out?.byteOffset).toBe(3);
    expect(out?.buffer.byteLength).toBe(3 + message.byteLength + GATHERED_SLACK_BYTES);
    expect(reader.atBoundary).toBe(true);
  });
});
