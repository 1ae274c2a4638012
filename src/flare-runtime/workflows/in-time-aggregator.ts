import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { RecordDict } from "../../gen/flwr/proto/recorddict_pb.ts";
import { ReturnCode, type TaskResult } from "../controller/task.ts";
import {
  arrayEntries,
  arrayRecord,
  float32Array,
  float32Values,
  metricValues,
  recordDict,
} from "../task/records.ts";
import { MetaKey } from "../task/shareable.ts";

/** What a round's aggregation gives. */
export interface Aggregate {
  /** The weighted average of the results' float32 arrays, in their record layout. */
  records: RecordDict;
  /** Sites whose results are in it, in the order they were added. */
  sites: string[];
  /** OK results that could not be used (arrays that do not match the others'), and why. */
  rejected: { site: string; message: string }[];
  /** The weighted average of the results' metrics. */
  metrics: Record<string, number>;
  totalWeight: number;
}

interface Slot {
  record: string;
  name: string;
  shape: number[];
  sum: Float32Array;
}

/**
 * Weighted averaging that folds each result in as soon as it may, yet always in the same
 * order: the sites' order, whatever order results arrive in. A result that comes before an
 * earlier site's waits (on disk: results are read only when folded), so the sum, float32
 * rounding and all, is the same in every run, and a resumed job ends with the same model.
 * Memory: the running sum and the one result being folded.
 */
export class InTimeAggregator {
  readonly #order: readonly string[];
  readonly #arrived = new Map<string, TaskResult>();
  /** Sites known not to deliver this round. */
  readonly #missing = new Set<string>();
  #next = 0;
  #folding: Promise<void> = Promise.resolve();
  #slots: Slot[] | undefined;
  #metrics: Record<string, number> = {};
  #totalWeight = 0;
  #sites: string[] = [];
  #rejected: { site: string; message: string }[] = [];

  constructor(order: readonly string[]) {
    this.#order = order;
  }

  /** A result has arrived: fold it, and any after it, if every site before it is done. */
  arrived(result: TaskResult): void {
    if (result.code === ReturnCode.OK) this.#arrived.set(result.site, result);
    else this.#missing.add(result.site);
    this.#fold();
  }

  /** The task is over: sites that did not deliver are skipped, the rest folded in order. */
  async finish(results: readonly TaskResult[]): Promise<Aggregate | undefined> {
    for (const result of results) {
      if (result.code === ReturnCode.OK && !this.#arrived.has(result.site))
        this.#arrived.set(result.site, result);
    }
    for (const site of this.#order) if (!this.#arrived.has(site)) this.#missing.add(site);
    this.#fold();
    await this.#folding;
    const slots = this.#slots;
    if (slots === undefined || this.#totalWeight === 0) return undefined;
    const arrays = new Map<string, [string, ReturnType<typeof float32Array>][]>();
    for (const slot of slots) {
      for (let i = 0; i < slot.sum.length; i++)
        slot.sum[i] = (slot.sum[i] as number) / this.#totalWeight;
      const entries = arrays.get(slot.record) ?? [];
      entries.push([slot.name, float32Array(slot.sum, slot.shape)]);
      arrays.set(slot.record, entries);
      slot.sum = new Float32Array(0); // the copy in the record is the one kept
    }
    const metrics: Record<string, number> = {};
    for (const [key, value] of Object.entries(this.#metrics))
      metrics[key] = value / this.#totalWeight;
    return {
      records: recordDict({
        arrays: Object.fromEntries(
          [...arrays].map(([key, entries]) => [key, arrayRecord(entries)]),
        ),
      }),
      sites: this.#sites,
      rejected: this.#rejected,
      metrics,
      totalWeight: this.#totalWeight,
    };
  }

  #fold(): void {
    this.#folding = this.#folding.then(async () => {
      while (this.#next < this.#order.length) {
        const site = this.#order[this.#next] as string;
        const result = this.#arrived.get(site);
        if (result === undefined) {
          if (!this.#missing.has(site)) return; // wait for it
          this.#next++;
          continue;
        }
        this.#next++;
        try {
          await this.#add(site, result);
        } catch (error) {
          this.#rejected.push({ site, message: FedbridgeError.from(error).message });
        }
      }
    });
  }

  async #add(site: string, result: TaskResult): Promise<void> {
    const shareable = await result.read();
    const weight = Number(shareable.meta[MetaKey.NUM_EXAMPLES] ?? 1);
    if (!(weight > 0))
      throw new FedbridgeError(Code.InvalidArgument, `${site}'s result has weight ${weight}`);
    const entries = arrayEntries(shareable.records);
    const arrays = entries.map((entry) => float32Values(entry.array, `${site}'s ${entry.name}`));
    this.#slots ??= entries.map((entry, i) => ({
      record: entry.record,
      name: entry.name,
      shape: [...entry.array.shape],
      sum: new Float32Array((arrays[i] as Float32Array).length),
    }));
    const slots = this.#slots;
    // Checked whole before any of it is added: a bad result leaves the sum untouched.
    if (
      entries.length !== slots.length ||
      entries.some(
        (entry, i) => entry.name !== slots[i]?.name || arrays[i]?.length !== slots[i]?.sum.length,
      )
    )
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${site}'s arrays (${entries.map((e) => e.name).join(", ")}) do not match the others' (${slots.map((s) => s.name).join(", ")})`,
      );
    slots.forEach((slot, i) => {
      const values = arrays[i] as Float32Array;
      const sum = slot.sum;
      for (let j = 0; j < values.length; j++)
        sum[j] = (sum[j] as number) + weight * (values[j] as number);
    });
    for (const [key, value] of Object.entries(metricValues(shareable.records)))
      this.#metrics[key] = (this.#metrics[key] ?? 0) + weight * value;
    this.#totalWeight += weight;
    this.#sites.push(site);
  }
}
