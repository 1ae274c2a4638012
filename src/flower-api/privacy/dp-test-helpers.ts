// Fixtures of the privacy tests: a statistical check of Gaussian noise and small ClientApps.
import { expect } from "vitest";
import { SummaryWriter } from "../../tracking/summary-writer.ts";
import type { TrackingEvent } from "../../tracking/tracking-event.ts";
import { ClientApp } from "../app/client-app.ts";
import type { Handler, Mod } from "../app/mod.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import type { Strategy } from "../strategy/strategy.ts";

/**
 * Checks that `samples` look drawn from N(0, sigma²). The sample variance S² of n normal
 * draws satisfies (n−1)S²/σ² ~ χ²(n−1), which for large n is close to N(n−1, 2(n−1)): so
 * S²/σ² − 1 has standard deviation √(2/(n−1)). Five of those (a two-sided tail of 6e-7) is
 * the bound: 1.6 % of the variance for n = 200,000, 2.2 % for n = 100,000, so a standard
 * deviation 2 % off (4 % in variance) fails. The mean has standard deviation σ/√n, also
 * bounded at five.
 */
export function expectNormalSamples(samples: ArrayLike<number>, sigma: number): void {
  const n = samples.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i] as number;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((samples[i] as number) - mean) ** 2;
  const variance = squares / (n - 1);
  expect(Math.abs(variance / sigma ** 2 - 1)).toBeLessThan(5 * Math.sqrt(2 / (n - 1)));
  expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(n));
}

/** A one-array float32 model. */
export const model = (values: ArrayLike<number>): ArrayRecord =>
  ArrayRecord.fromTypedArrays([{ values: Float32Array.from(values), shape: [values.length] }]);

/** The values of a one-array model. */
export const valuesOf = (arrays: ArrayRecord | undefined): Float32Array =>
  (arrays?.toTypedArrays()[0] ?? new Float32Array()) as Float32Array;

/**
 * A node that trains by adding `update` to the model it receives (one example), with `mods`
 * on its train handler, and evaluates to a loss of 0.
 */
export function updatingNode(update: ArrayLike<number>, mods: readonly Mod[] = []): ClientApp {
  const train: Handler = (msg) => {
    const received = valuesOf(msg.content.arrayRecords.get("arrays") as ArrayRecord);
    const sent = Float32Array.from(
      received,
      (v, i) => v + ((update[i] as number | undefined) ?? 0),
    );
    const metrics = new MetricRecord({ loss: 0.5, "num-examples": 1 });
    return new Message(new RecordDict({ arrays: model(sent), metrics }), { replyTo: msg });
  };
  const evaluate: Handler = (msg) =>
    new Message(new RecordDict({ metrics: new MetricRecord({ loss: 0, "num-examples": 1 }) }), {
      replyTo: msg,
    });
  return new ClientApp().train("default", train, { mods }).evaluate(evaluate);
}

/**
 * The model after one round of `strategy` from a zero model of 100,000 values, on `numNodes`
 * nodes that send it back unchanged (through `mods`): the noise the strategy added, alone.
 */
export async function noiseOfOneRound(
  strategy: Strategy,
  numNodes: number,
  { seed, mods = [] }: { seed?: number; mods?: readonly Mod[] } = {},
): Promise<Float32Array> {
  const { grid } = loggingGrid(seed);
  for (let i = 0; i < numNodes; i++) grid.addNode(updatingNode([], mods));
  const initialArrays = model(new Float32Array(100_000));
  return valuesOf((await strategy.start({ grid, initialArrays, numRounds: 1 })).arrays);
}

/** An in-memory grid with a run seed whose strategy log lines are kept in `lines`. */
export function loggingGrid(seed = 7): { grid: InMemoryGrid; lines: string[] } {
  const lines: string[] = [];
  const observer: RunObserver = {
    roundStarted() {},
    roundFinished() {},
    log: (line) => lines.push(line),
  };
  return { grid: new InMemoryGrid({ runId: 1n, runConfig: { seed } }, observer), lines };
}

/** A SummaryWriter that keeps its events in memory, and the scalars of one tag by step. */
export function memoryWriter() {
  const events: TrackingEvent[] = [];
  const writer = new SummaryWriter({ sink: { write: (event) => void events.push(event) } });
  const scalars = (tag: string): Map<number, number> =>
    new Map(
      events.flatMap((e) => (e.kind === "scalar" && e.tag === tag ? [[e.step, e.value]] : [])),
    );
  return { writer, events, scalars };
}
