import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type Event, EventSchema } from "../gen/tensorboard/event_pb.ts";
import { fromTensorBoardEvent } from "./tensorboard-event.ts";
import { type ReadRecordsOptions, readRecords } from "./tfrecord.ts";
import type { Histogram, TrackingEvent } from "./tracking-event.ts";

export interface ScalarPoint {
  tag: string;
  step: number;
  /** As stored: `simple_value` is a float32, so a logged 0.1 reads back as `Math.fround(0.1)`. */
  value: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
}

export interface TextPoint {
  tag: string;
  step: number;
  text: string;
  wallTime: number;
}

export interface HistogramPoint {
  tag: string;
  step: number;
  histogram: Histogram;
  wallTime: number;
}

/** What an event file (or a folder of them, one TensorBoard run) holds. */
export interface EventFileContents {
  /** The first record's `file_version`, such as "brain.Event:2" (of the first file). */
  fileVersion: string | undefined;
  /** Every decoded Event, the first record included, in file order. */
  events: Event[];
  /** The scalars, texts and histograms, in file order. */
  trackingEvents: TrackingEvent[];
  scalars: ScalarPoint[];
  texts: TextPoint[];
  histograms: HistogramPoint[];
}

/**
 * Decodes a TensorBoard event file, whoever wrote it (fedbridge, PyTorch, TensorFlow). Every
 * record's two CRCs are checked first, so damage is a `Code.DataLoss` error naming the record's
 * byte offset rather than wrong numbers; an undecodable Event is `Code.DataLoss` too.
 */
export function readEventFile(
  bytes: Uint8Array,
  options: ReadRecordsOptions = {},
): EventFileContents {
  return decode([{ bytes, options }]);
}

/**
 * Reads every event file directly in `dir` (names containing "tfevents"), in name order, which
 * is time order, as TensorBoard reads one run; per-site folders are separate runs. An empty or
 * missing folder is a `Code.NotFound` error.
 */
export function readEventFiles(
  dir: string,
  options: Omit<ReadRecordsOptions, "source"> = {},
): EventFileContents & { files: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((name) => name.includes("tfevents"))
      .sort();
  } catch (cause) {
    throw new FedbridgeError(
      Code.NotFound,
      `cannot read event files in ${dir}: ${FedbridgeError.from(cause).message}`,
      { cause },
    );
  }
  if (names.length === 0) throw new FedbridgeError(Code.NotFound, `no event files in ${dir}`);
  const files = names.map((name) => join(dir, name));
  const contents = decode(
    files.map((path) => ({ bytes: readFileSync(path), options: { ...options, source: path } })),
  );
  return { ...contents, files };
}

function decode(inputs: { bytes: Uint8Array; options: ReadRecordsOptions }[]): EventFileContents {
  const out: EventFileContents = {
    fileVersion: undefined,
    events: [],
    trackingEvents: [],
    scalars: [],
    texts: [],
    histograms: [],
  };
  const pluginsByTag = new Map<string, string>();
  for (const { bytes, options } of inputs) {
    for (const record of readRecords(bytes, options)) {
      let event: Event;
      try {
        event = fromBinary(EventSchema, record.data);
      } catch (cause) {
        throw new FedbridgeError(
          Code.DataLoss,
          `${options.source ?? "event file"}: record at byte ${record.offset} is not an Event: ${FedbridgeError.from(cause).message}`,
          { cause },
        );
      }
      out.events.push(event);
      if (event.what.case === "fileVersion") out.fileVersion ??= event.what.value;
      for (const tracked of fromTensorBoardEvent(event, pluginsByTag)) {
        out.trackingEvents.push(tracked);
        const { tag, step, wallTime } = tracked;
        if (tracked.kind === "scalar")
          out.scalars.push({ tag, step, value: tracked.value, wallTime });
        else if (tracked.kind === "text")
          out.texts.push({ tag, step, text: tracked.text, wallTime });
        else out.histograms.push({ tag, step, histogram: tracked.histogram, wallTime });
      }
    }
  }
  return out;
}
