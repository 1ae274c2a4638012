import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../gen/tensorboard/event_pb.ts";
import { DataClass, type Summary_ValueSchema } from "../gen/tensorboard/summary_pb.ts";
import { DataType } from "../gen/tensorboard/types_pb.ts";
import { fromTensorBoardEvent, toTensorBoardEvent } from "./tensorboard-event.ts";

type ValueInit = Parameters<typeof create<typeof Summary_ValueSchema>>[1];

function summaryEvent(step: number, value: ValueInit): Event {
  return create(EventSchema, {
    wallTime: 10 + step,
    step: BigInt(step),
    what: { case: "summary", value: { value: [value ?? {}] } },
  });
}

describe("TensorBoard events", () => {
  it("writes a scalar as simple_value without metadata, as PyTorch does", () => {
    const event = toTensorBoardEvent({ kind: "scalar", tag: "a", step: 3, value: 2, wallTime: 5 });
    expect(event.step).toBe(3n);
    expect(event.what.case).toBe("summary");
    const value = event.what.case === "summary" ? event.what.value.value[0] : undefined;
    expect(value?.value).toEqual({ case: "simpleValue", value: 2 });
    expect(value?.metadata).toBeUndefined();
  });

  it("writes text as a DT_STRING tensor for the text plugin", () => {
    const event = toTensorBoardEvent({ kind: "text", tag: "t", step: 0, text: "hi", wallTime: 1 });
    const value = event.what.case === "summary" ? event.what.value.value[0] : undefined;
    expect(value?.metadata?.pluginData?.pluginName).toBe("text");
    expect(value?.value.case).toBe("tensor");
    if (value?.value.case !== "tensor") return;
    expect(value.value.value.dtype).toBe(DataType.DT_STRING);
    expect(value.value.value.tensorShape?.dim.map((d) => d.size)).toEqual([1n]);
  });

  it("reads tensor scalars (tf.summary v2), the plugin remembered from a tag's first value", () => {
    const plugins = new Map<string, string>();
    const first = summaryEvent(0, {
      tag: "loss",
      metadata: { pluginData: { pluginName: "scalars" }, dataClass: DataClass.SCALAR },
      value: { case: "tensor", value: { dtype: DataType.DT_FLOAT, floatVal: [0.5] } },
    });
    // Later values carry no metadata, and a rank-1 shape that only the plugin identifies.
    const content = new Uint8Array(new Float64Array([0.25]).buffer);
    const second = summaryEvent(1, {
      tag: "loss",
      value: {
        case: "tensor",
        value: {
          dtype: DataType.DT_DOUBLE,
          tensorShape: { dim: [{ size: 1n }] },
          tensorContent: content,
        },
      },
    });
    const int64 = summaryEvent(2, {
      tag: "count",
      value: { case: "tensor", value: { dtype: DataType.DT_INT64, int64Val: [7n] } },
    });
    expect([first, second, int64].flatMap((e) => fromTensorBoardEvent(e, plugins))).toEqual([
      { kind: "scalar", tag: "loss", step: 0, value: 0.5, wallTime: 10 },
      { kind: "scalar", tag: "loss", step: 1, value: 0.25, wallTime: 11 },
      { kind: "scalar", tag: "count", step: 2, value: 7, wallTime: 12 },
    ]);
  });

  it("skips what it does not read: images, other plugins' tensors, non-summary events", () => {
    const plugins = new Map<string, string>();
    const image = summaryEvent(0, {
      tag: "img",
      value: { case: "image", value: { height: 1, width: 1 } },
    });
    const pr = summaryEvent(0, {
      tag: "pr",
      metadata: { pluginData: { pluginName: "pr_curves" } },
      value: { case: "tensor", value: { dtype: DataType.DT_FLOAT, floatVal: [1] } },
    });
    const version = create(EventSchema, { what: { case: "fileVersion", value: "brain.Event:2" } });
    expect([image, pr, version].flatMap((e) => fromTensorBoardEvent(e, plugins))).toEqual([]);
  });
});
