import { Code, FedbridgeError } from "../core/fedbridge-error.ts";

/** The longest tag accepted, in UTF-16 code units; longer tags are refused. */
export const MAX_TAG_LENGTH = 1024;

/**
 * A histogram as TensorBoard's HistogramProto holds it: bucket i counts the values in
 * (bucketLimits[i-1], bucketLimits[i]], the first bucket starting at -Number.MAX_VALUE.
 */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimits: number[];
  buckets: number[];
}

/** What every tracking event carries. */
interface TrackingEventBase {
  /** The series' name, such as "train/loss"; 1 to 1,024 characters. */
  tag: string;
  /** A non-negative integer: the round, epoch or batch. */
  step: number;
  /** Seconds since the Unix epoch (as TensorBoard's `wall_time`), fractional. */
  wallTime: number;
  /** The site that logged it; absent on the server and in a lone SummaryWriter. */
  site?: string;
  /** The runtime job it belongs to; absent outside the runtime. */
  job?: string;
}

export interface ScalarEvent extends TrackingEventBase {
  kind: "scalar";
  /** A finite number. */
  value: number;
}

export interface TextEvent extends TrackingEventBase {
  kind: "text";
  text: string;
}

export interface HistogramEvent extends TrackingEventBase {
  kind: "histogram";
  histogram: Histogram;
}

/**
 * One logged value, the unit that flows from a SummaryWriter through sinks to event files, the
 * store and the server. Plain JSON, so it can cross a process or a network as it is.
 */
export type TrackingEvent = ScalarEvent | TextEvent | HistogramEvent;

/**
 * Refuses an event that no backend could store faithfully: an empty tag or one over
 * `MAX_TAG_LENGTH`, a step that is not a non-negative integer, a non-finite wall time, scalar
 * or histogram statistic. The error is `Code.InvalidArgument` and names the tag (shortened), so
 * a caller can log it and go on: nothing about the event was written.
 */
export function checkTrackingEvent(event: TrackingEvent): void {
  checkTag(event.tag);
  const fail = (what: string) =>
    new FedbridgeError(Code.InvalidArgument, `tracking tag ${describeTag(event.tag)}: ${what}`);
  if (!Number.isSafeInteger(event.step) || event.step < 0) {
    throw fail(`step must be a non-negative integer, got ${event.step}`);
  }
  if (!Number.isFinite(event.wallTime))
    throw fail(`wall time must be finite, got ${event.wallTime}`);
  switch (event.kind) {
    case "scalar":
      if (typeof event.value !== "number" || !Number.isFinite(event.value)) {
        throw fail(`scalar value must be a finite number, got ${String(event.value)}`);
      }
      return;
    case "text":
      if (typeof event.text !== "string") throw fail("text must be a string");
      return;
    case "histogram": {
      const h = event.histogram;
      const numbers = [h.min, h.max, h.num, h.sum, h.sumSquares, ...h.bucketLimits, ...h.buckets];
      if (!numbers.every(Number.isFinite)) throw fail("histogram holds a non-finite number");
      if (h.bucketLimits.length !== h.buckets.length) {
        throw fail(`histogram has ${h.bucketLimits.length} limits but ${h.buckets.length} buckets`);
      }
      return;
    }
    default:
      throw fail(`unknown kind ${String((event as { kind: unknown }).kind)}`);
  }
}

/** Refuses an empty tag or one over `MAX_TAG_LENGTH`, naming it. */
export function checkTag(tag: string): void {
  if (typeof tag !== "string" || tag.length === 0) {
    throw new FedbridgeError(Code.InvalidArgument, "tracking tag must be a non-empty string");
  }
  if (tag.length > MAX_TAG_LENGTH) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `tracking tag ${describeTag(tag)} is ${tag.length} characters long, over the limit of ${MAX_TAG_LENGTH}`,
    );
  }
}

/** A tag quoted for an error message, its start only when it is long. */
function describeTag(tag: string): string {
  return JSON.stringify(tag.length > 80 ? `${tag.slice(0, 60)}…` : tag);
}
