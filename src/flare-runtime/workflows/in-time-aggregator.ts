import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { addScaledFloat32 } from "../../core/numeric/weighted-sum.ts";
import type { Array as ProtoArray, RecordDict } from "../../gen/flwr/proto/recorddict_pb.ts";
import { ReturnCode, type TaskResult } from "../controller/task.ts";
import {
  type ArrayEntry,
  arrayEntries,
  arrayRecord,
  float32Values,
  metricValues,
  recordDict,
  zerosFloat32,
} from "../shareable/records.ts";
import { MetaKey, type Shareable } from "../shareable/shareable.ts";

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
  /** The NPY array the sum lives in. */
  array: ProtoArray;
  sum: Float32Array;
}

/**
 * Weighted averaging that folds each result in as soon as it may, yet always in the same
 * order: the sites' order, whatever order results arrive in. A result that comes before an
 * earlier site's waits (on disk: results are read only when folded), so the sum, float32
 * rounding and all, is the same in every run, and a resumed job ends with the same model.
 * Each fold is core's addScaledFloat32 (weight × value and the sum in float64, rounded to
 * float32 once), not the Flower-style FedAvg's order: changing it would change every model.
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
    const arrays = new Map<string, [string, ProtoArray][]>();
    for (const slot of slots) {
      for (let i = 0; i < slot.sum.length; i++)
        slot.sum[i] = (slot.sum[i] as number) / this.#totalWeight;
      const entries = arrays.get(slot.record) ?? [];
      entries.push([slot.name, slot.array]);
      arrays.set(slot.record, entries);
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
    if (result.open === undefined) return this.#addWhole(site, await result.read());
    // On disk: fold the arrays a few MB at a time, never holding the result whole.
    const file = await result.open();
    try {
      const weight = this.#weightOf(site, file.header);
      const slots = this.#slotsFor(
        site,
        file.arrays.map((a) => a.entry),
        file.arrays.map((a, i) => (file.dtypes[i] === "float32" ? a.length : -1)),
      );
      for (const [i, array] of file.arrays.entries()) {
        const sum = (slots[i] as Slot).sum;
        let at = 0;
        for await (const values of file.float32Chunks(array)) {
          addScaledFloat32(sum.subarray(at, at + values.length), values, weight);
          at += values.length;
        }
      }
      this.#counted(site, weight, file.header);
    } finally {
      await file.close();
    }
  }

  #addWhole(site: string, shareable: Shareable): void {
    const weight = this.#weightOf(site, shareable);
    const entries = arrayEntries(shareable.records);
    const arrays = entries.map((entry) => float32Values(entry.array, `${site}'s ${entry.name}`));
    const slots = this.#slotsFor(
      site,
      entries,
      arrays.map((a) => a.length),
    );
    for (const [i, slot] of slots.entries())
      addScaledFloat32(slot.sum, arrays[i] as Float32Array, weight);
    this.#counted(site, weight, shareable);
  }

  #weightOf(site: string, shareable: Shareable): number {
    const weight = Number(shareable.meta[MetaKey.NUM_EXAMPLES] ?? 1);
    if (!(weight > 0))
      throw new FedbridgeError(Code.InvalidArgument, `${site}'s result has weight ${weight}`);
    return weight;
  }

  /**
   * The running sums for a result's arrays (made from the first result), after checking the
   * result matches them whole: a bad result leaves the sums untouched. `lengths` is -1 for an
   * array that is not float32.
   */
  #slotsFor(site: string, entries: readonly ArrayEntry[], lengths: readonly number[]): Slot[] {
    const bad = lengths.findIndex((n) => n < 0);
    if (bad >= 0)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${site}'s array ${entries[bad]?.name} is not float32`,
      );
    // Each sum lives in the NPY bytes of the average to be: dividing in place finishes it.
    this.#slots ??= entries.map((entry) => {
      const { array, values } = zerosFloat32([...entry.array.shape]);
      return { record: entry.record, name: entry.name, array, sum: values };
    });
    const slots = this.#slots;
    if (
      entries.length !== slots.length ||
      entries.some(
        (entry, i) => entry.name !== slots[i]?.name || lengths[i] !== slots[i]?.sum.length,
      )
    )
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${site}'s arrays (${entries.map((e) => e.name).join(", ")}) do not match the others' (${slots.map((s) => s.name).join(", ")})`,
      );
    return slots;
  }

  #counted(site: string, weight: number, shareable: Shareable): void {
    for (const [key, value] of Object.entries(metricValues(shareable.records)))
      this.#metrics[key] = (this.#metrics[key] ?? 0) + weight * value;
    this.#totalWeight += weight;
    this.#sites.push(site);
  }
}
