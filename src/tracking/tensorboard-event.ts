import { create, toBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../gen/tensorboard/event_pb.ts";
import { type HistogramProto, HistogramProtoSchema } from "../gen/tensorboard/histogram_pb.ts";
import { TextPluginDataSchema } from "../gen/tensorboard/plugin_text_pb.ts";
import {
  DataClass,
  type Summary_Value,
  Summary_ValueSchema,
  SummaryMetadataSchema,
  SummarySchema,
} from "../gen/tensorboard/summary_pb.ts";
import { type TensorProto, TensorProtoSchema } from "../gen/tensorboard/tensor_pb.ts";
import { DataType } from "../gen/tensorboard/types_pb.ts";
import type { Histogram, TrackingEvent } from "./tracking-event.ts";

/** The text plugin's data: `TextPluginData { version: 0 }`, as PyTorch writes it. */
const TEXT_PLUGIN_CONTENT = toBinary(
  TextPluginDataSchema,
  create(TextPluginDataSchema, { version: 0 }),
);

/**
 * A tracking event as a TensorBoard `Event`, the way PyTorch's SummaryWriter writes it: a
 * scalar as `simple_value` (a float32, so TensorBoard shows `Math.fround(value)`), a text as a
 * one-element DT_STRING tensor for the "text" plugin, a histogram as a `HistogramProto`.
 * Site and job are not part of TensorBoard's format; they decide which file an event goes to.
 */
export function toTensorBoardEvent(event: TrackingEvent): Event {
  const value = create(Summary_ValueSchema, { tag: event.tag });
  switch (event.kind) {
    case "scalar":
      value.value = { case: "simpleValue", value: event.value };
      break;
    case "text":
      value.metadata = create(SummaryMetadataSchema, {
        pluginData: { pluginName: "text", content: TEXT_PLUGIN_CONTENT },
      });
      value.value = {
        case: "tensor",
        value: create(TensorProtoSchema, {
          dtype: DataType.DT_STRING,
          tensorShape: { dim: [{ size: 1n }] },
          stringVal: [new TextEncoder().encode(event.text)],
        }),
      };
      break;
    case "histogram":
      value.value = { case: "histo", value: toHistogramProto(event.histogram) };
      break;
  }
  return create(EventSchema, {
    wallTime: event.wallTime,
    step: BigInt(event.step),
    what: { case: "summary", value: create(SummarySchema, { value: [value] }) },
  });
}

/**
 * The scalars, texts and histograms of one decoded `Event`, as tracking events without site or
 * job. Scalars come as `simple_value` (PyTorch, tf.summary v1) or as a one-element numeric
 * tensor (tf.summary v2); TensorFlow writes a series' plugin only with its first value, so
 * `pluginsByTag` carries what earlier events of the same file said. Images, audio, graphs and
 * other tensors are skipped.
 */
export function fromTensorBoardEvent(
  event: Event,
  pluginsByTag: Map<string, string>,
): TrackingEvent[] {
  if (event.what.case !== "summary") return [];
  const base = { step: Number(event.step), wallTime: event.wallTime };
  const out: TrackingEvent[] = [];
  for (const value of event.what.value.value) {
    const plugin = value.metadata?.pluginData?.pluginName;
    if (plugin) pluginsByTag.set(value.tag, plugin);
    const decoded = decodeValue(value, pluginsByTag.get(value.tag), value.metadata?.dataClass);
    if (decoded) out.push({ ...base, tag: value.tag, ...decoded } as TrackingEvent);
  }
  return out;
}

type Decoded =
  | { kind: "scalar"; value: number }
  | { kind: "text"; text: string }
  | { kind: "histogram"; histogram: Histogram };

function decodeValue(
  value: Summary_Value,
  plugin: string | undefined,
  dataClass: DataClass | undefined,
): Decoded | undefined {
  switch (value.value.case) {
    case "simpleValue":
      return { kind: "scalar", value: value.value.value };
    case "histo":
      return { kind: "histogram", histogram: fromHistogramProto(value.value.value) };
    case "tensor": {
      const tensor = value.value.value;
      if (tensor.dtype === DataType.DT_STRING && (plugin === "text" || plugin === undefined)) {
        const decoder = new TextDecoder();
        return { kind: "text", text: tensor.stringVal.map((s) => decoder.decode(s)).join("\n") };
      }
      const scalarLike =
        plugin === "scalars" ||
        dataClass === DataClass.SCALAR ||
        (plugin === undefined && (tensor.tensorShape?.dim.length ?? 0) === 0);
      if (!scalarLike) return undefined;
      const numbers = tensorNumbers(tensor);
      return numbers.length === 1 ? { kind: "scalar", value: numbers[0] } : undefined;
    }
    default:
      return undefined;
  }
}

/** The values of a numeric tensor (float, double, int32, int64), from either representation. */
function tensorNumbers(tensor: TensorProto): number[] {
  const raw = tensor.tensorContent;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read = (width: number, get: (offset: number) => number) =>
    Array.from({ length: Math.floor(raw.length / width) }, (_, i) => get(i * width));
  switch (tensor.dtype) {
    case DataType.DT_FLOAT:
      return raw.length ? read(4, (o) => view.getFloat32(o, true)) : tensor.floatVal;
    case DataType.DT_DOUBLE:
      return raw.length ? read(8, (o) => view.getFloat64(o, true)) : tensor.doubleVal;
    case DataType.DT_INT32:
      return raw.length ? read(4, (o) => view.getInt32(o, true)) : tensor.intVal;
    case DataType.DT_INT64:
      return raw.length
        ? read(8, (o) => Number(view.getBigInt64(o, true)))
        : tensor.int64Val.map(Number);
    default:
      return [];
  }
}

function toHistogramProto(h: Histogram): HistogramProto {
  return create(HistogramProtoSchema, {
    min: h.min,
    max: h.max,
    num: h.num,
    sum: h.sum,
    sumSquares: h.sumSquares,
    bucketLimit: h.bucketLimits,
    bucket: h.buckets,
  });
}

function fromHistogramProto(h: HistogramProto): Histogram {
  return {
    min: h.min,
    max: h.max,
    num: h.num,
    sum: h.sum,
    sumSquares: h.sumSquares,
    bucketLimits: [...h.bucketLimit],
    buckets: [...h.bucket],
  };
}
