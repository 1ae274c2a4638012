import { describe, expect, it } from "vitest";
import { createForwardSink } from "./forward-sink.ts";
import type { TrackingEvent } from "./tracking-event.ts";

const scalar = (step: number): TrackingEvent => ({
  kind: "scalar",
  tag: "loss",
  value: step / 10,
  step,
  wallTime: 1,
});

describe("createForwardSink", () => {
  it("sends one turn's events in one batch, each once, and what waits at flush at once", async () => {
    const sent: TrackingEvent[][] = [];
    const sink = createForwardSink((events) => void sent.push(events));
    sink.write(scalar(1));
    sink.write(scalar(2));
    expect(sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([[scalar(1), scalar(2)]]);
    sink.write(scalar(3));
    sink.flush?.();
    await new Promise((resolve) => setImmediate(resolve));
    sink.close?.();
    expect(sent).toEqual([[scalar(1), scalar(2)], [scalar(3)]]);
  });
});
