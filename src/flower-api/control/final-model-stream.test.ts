import { createHash } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code } from "../../core/fedbridge-error.ts";
import { type RunEvent, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { arrayRecordToProto } from "../records/serde.ts";
import {
  FINAL_PIECE_BYTES,
  FinalModelAssembler,
  finalArrays,
  streamedEvents,
} from "./final-model-stream.ts";

/** A finished run whose model has arrays of these many float32 values. */
function finished(...lengths: number[]): RunEvent {
  const arrays = ArrayRecord.fromTypedArrays(
    lengths.map((length, a) => ({
      values: Float32Array.from({ length }, (_, i) => (i * 7 + a) % 1013),
      shape: [length],
    })),
  );
  return create(RunEventSchema, {
    event: {
      case: "runFinished",
      value: { status: "completed", result: { arrays: arrayRecordToProto(arrays) } },
    },
  });
}

/** The events as a follower decodes them off the wire. */
const overTheWire = (events: Iterable<RunEvent>) =>
  [...events].map((event) => fromBinary(RunEventSchema, toBinary(RunEventSchema, event)));

/** What a follower makes of the events: the runFinished event, its model's bytes put back. */
function assemble(events: RunEvent[]) {
  const model = new FinalModelAssembler();
  for (const { event } of events) {
    if (event.case === "finalArrayBytes") model.add(event.value);
    else if (event.case === "runFinished") return model.complete(event.value);
  }
  throw new Error("no runFinished");
}

/** The arrays' bytes, as hex digests of their contents (toEqual on megabytes is slow). */
const datas = (event: RunEvent) =>
  finalArrays(event).map((array) => createHash("sha256").update(array.data).digest("hex"));

describe("the final model on the event stream", () => {
  it("goes in pieces no larger than FINAL_PIECE_BYTES, then runFinished without bytes, and comes back whole", () => {
    const event = finished(700_000, 3, 0, 300_000);
    const events = overTheWire(streamedEvents(event));
    const pieces = events.filter((e) => e.event.case === "finalArrayBytes");
    // 2.8 MB in 1 MiB pieces, 12 bytes, none and 1.2 MB, each with its NPY header.
    expect(pieces.length).toBe(3 + 1 + 1 + 2);
    for (const piece of pieces)
      expect(toBinary(RunEventSchema, piece).byteLength).toBeLessThan(FINAL_PIECE_BYTES + 64);
    const last = events.at(-1) as RunEvent;
    expect(last.event.case).toBe("runFinished");
    expect(finalArrays(last).every((array) => array.data.byteLength === 0)).toBe(true);
    const whole = assemble(events);
    expect(whole.result?.arrays?.items.map((item) => item.key)).toEqual(["0", "1", "2", "3"]);
    expect(datas(create(RunEventSchema, { event: { case: "runFinished", value: whole } }))).toEqual(
      datas(event),
    );
  });

  it("sends nothing for an item without an array, and the model still comes back whole", () => {
    const event = finished(300_000, 5);
    const items = event.event.case === "runFinished" ? event.event.value.result?.arrays?.items : [];
    items?.splice(1, 0, { $typeName: "flwr.proto.ArrayRecord.Item", key: "empty" });
    const events = overTheWire(streamedEvents(event));
    const indexes = events.flatMap((e) =>
      e.event.case === "finalArrayBytes" ? [e.event.value.index] : [],
    );
    expect(new Set(indexes)).toEqual(new Set([0, 2]));
    const whole = assemble(events);
    expect(whole.result?.arrays?.items.map((item) => item.value === undefined)).toEqual([
      false,
      true,
      false,
    ]);
    expect(datas(create(RunEventSchema, { event: { case: "runFinished", value: whole } }))).toEqual(
      datas(event),
    );
  });

  it("leaves an event without a model as it is", () => {
    const failed = create(RunEventSchema, {
      event: { case: "runFinished", value: { status: "failed", details: "boom" } },
    });
    expect([...streamedEvents(failed)]).toEqual([failed]);
    const log = create(RunEventSchema, { event: { case: "log", value: "hello" } });
    expect([...streamedEvents(log)]).toEqual([log]);
  });

  it("refuses a model with a piece missing, out of order, too many bytes or an impossible size, as data loss", () => {
    const events = overTheWire(streamedEvents(finished(700_000, 10)));
    const without = (drop: number) => events.filter((_, i) => i !== drop);
    const swapped = [events[1], events[0], ...events.slice(2)] as RunEvent[];
    const doubled = [events[0], ...events] as RunEvent[];
    const huge = create(RunEventSchema, {
      event: {
        case: "finalArrayBytes",
        value: { index: 0, size: 2n ** 40n, offset: 0n, data: new Uint8Array(8) },
      },
    });
    for (const broken of [without(1), without(3), swapped, doubled, [huge, ...events]])
      expect(() => assemble(broken)).toThrow(
        expect.objectContaining({
          code: Code.DataLoss,
          message: expect.stringMatching(/final model arrived broken/),
        }),
      );
  });
});
