import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { ObjectTreeSchema } from "../../gen/flwr/proto/message_pb.ts";
import { encodeMessage } from "./proto-encode.ts";
import { encodeInPieces, holdsLargeBytes } from "./proto-pieces.ts";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed) & 0xff);

/** A run's last event: its final model, one large array and one small one, and metrics. */
function finished() {
  return create(RunEventSchema, {
    event: {
      case: "runFinished",
      value: {
        status: "completed",
        details: "3 rounds",
        result: {
          arrays: {
            items: [
              {
                key: "w",
                value: {
                  dtype: "float32",
                  shape: [70_000],
                  stype: "numpy.ndarray",
                  data: bytes(280_128, 7),
                },
              },
              {
                key: "b",
                value: {
                  dtype: "float32",
                  shape: [3],
                  stype: "numpy.ndarray",
                  data: bytes(140, 3),
                },
              },
            ],
          },
          trainMetrics: [
            {
              round: 1,
              metrics: {
                items: [{ key: "loss", value: { value: { case: "double", value: 0.5 } } }],
              },
            },
          ],
          replies: [{ round: 1, train: { sent: 2, failed: 1 } }],
        },
      },
    },
  });
}

describe("encodeInPieces (large bytes in nested messages)", () => {
  it("writes toBinary's bytes for a run's final event with its model", () => {
    const event = finished();
    expect(holdsLargeBytes(RunEventSchema, event)).toBe(true);
    const expected = toBinary(RunEventSchema, event);
    expect(Buffer.from(encodeInPieces(RunEventSchema, event)).equals(expected)).toBe(true);
    expect(Buffer.from(encodeMessage(RunEventSchema, event)).equals(expected)).toBe(true);
    const back = fromBinary(RunEventSchema, encodeMessage(RunEventSchema, event));
    expect(back).toEqual(fromBinary(RunEventSchema, expected));
  });

  it("leaves a message without large bytes to toBinary", () => {
    const small = create(RunEventSchema, { event: { case: "log", value: "round 1" } });
    expect(holdsLargeBytes(RunEventSchema, small)).toBe(false);
    expect(
      Buffer.from(encodeMessage(RunEventSchema, small)).equals(toBinary(RunEventSchema, small)),
    ).toBe(true);
  });

  it("looks through a recursive message type without end", () => {
    const tree = create(ObjectTreeSchema, {
      objectId: "a",
      children: [{ objectId: "b", children: [{ objectId: "c" }] }],
    });
    expect(holdsLargeBytes(ObjectTreeSchema, tree)).toBe(false);
  });
});
