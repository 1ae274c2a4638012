import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import type { RecordDict } from "../records/record-dict.ts";
import type { ConfigReader } from "./config-values.ts";
import { agreeKey, publicKeyOf } from "./key-agreement.ts";
import { addMask, expandMask, reduceModulo } from "./mask.ts";
import { Key, MASKED_KEY, pairwiseSign } from "./protocol.ts";
import { dequantizeSum, quantizeWeight } from "./quantization.ts";
import type { ResolvedSecAggPlusOptions, RoundParameters } from "./secagg-plus-options.ts";
import { combineShares } from "./shamir.ts";

/** How a model's arrays lie in the flat masked vector, after the weight at index 0. */
export interface Layout {
  /** RecordDict key of the nodes' ArrayRecord (e.g. "arrays"). */
  recordName: string;
  names: string[];
  shapes: (readonly number[])[];
  /** The dtypes of the nodes' arrays; the aggregate keeps float32, others become float64. */
  dtypes: string[];
  length: number;
}

/**
 * The server's running sum of masked vectors, and the unmasking: it only ever holds sums
 * (mod modulusRange) in which each node's update is hidden by masks it cannot remove alone,
 * until the shares it is given remove exactly the masks that do not cancel.
 */
export class MaskedSum {
  readonly #options: ResolvedSecAggPlusOptions;
  readonly #params: RoundParameters;
  readonly #weights = new Map<bigint, number>();
  #layout: Layout | undefined;
  #vector = new Uint32Array(0);

  constructor(options: ResolvedSecAggPlusOptions, params: RoundParameters) {
    this.#options = options;
    this.#params = params;
  }

  get layout(): Layout {
    if (this.#layout === undefined) throw new TypeError("no masked vector yet");
    return this.#layout;
  }

  /** Adds a node's masked vector (its collect_masked_vectors reply); throws if malformed. */
  add(nid: bigint, content: RecordDict, configs: ConfigReader): void {
    const masked = content.arrayRecords.get(MASKED_KEY);
    if (masked === undefined) throw new TypeError(`no '${MASKED_KEY}' record`);
    const maskedWeight = configs.integer(Key.MASKED_WEIGHT);
    if (maskedWeight < 0 || maskedWeight >= 2 ** 32)
      throw new TypeError("masked weight out of range");
    const metrics = [...content.metricRecords.values()];
    const weight = metrics.length === 1 ? metrics[0]?.get(this.#options.weightedByKey) : undefined;
    if (typeof weight !== "number" && typeof weight !== "bigint")
      throw new TypeError(`no number '${this.#options.weightedByKey}' in one MetricRecord`);
    const arrays = [...masked.values()];
    if (arrays.some((a) => a.dtype !== "uint32")) throw new TypeError("masked arrays are uint32");
    const layout: Layout = {
      recordName: configs.string(Key.ARRAY_RECORD),
      names: [...masked.keys()],
      shapes: arrays.map((a) => a.shape),
      dtypes: configs.stringList(Key.DTYPES),
      length: 1 + arrays.reduce((n, a) => n + a.size, 0),
    };
    if (layout.dtypes.length !== layout.names.length) throw new TypeError("one dtype per array");
    if (this.#layout === undefined) {
      this.#layout = layout;
      this.#vector = new Uint32Array(layout.length);
    } else if (JSON.stringify(layout) !== JSON.stringify(this.#layout)) {
      throw new TypeError("its arrays differ from the other nodes' (names, shapes or dtypes)");
    }
    this.#vector[0] = (this.#vector[0] as number) + maskedWeight;
    let offset = 1;
    for (const array of arrays) {
      addMask(
        this.#vector.subarray(offset, offset + array.size),
        array.toTypedArray() as Uint32Array,
      );
      offset += array.size;
    }
    this.#weights.set(nid, Number(weight));
  }

  /**
   * Removes the masks that do not cancel: the self mask of each node in the sum (`summed`),
   * and the pairwise masks between each dropped node and the nodes in the sum, from the
   * secrets the shares reconstruct. Returns the weighted average of the updates, or why it
   * cannot.
   *
   * @param shares Shares by owner: of the seed for a node in the sum, of sk1 for a dropped one.
   * @param maskedWith For each node in the sum, the neighbours whose pairwise masks it added.
   */
  unmask(
    shares: ReadonlyMap<bigint, readonly Uint8Array[]>,
    summed: ReadonlySet<bigint>,
    maskedWith: ReadonlyMap<bigint, { srcs: readonly bigint[] }>,
    publicKeys: ReadonlyMap<bigint, { pk1: Uint8Array }>,
  ): ArrayRecord | string {
    const { length } = this.layout;
    const { threshold } = this.#params;
    for (const [owner, list] of shares) {
      const what = summed.has(owner) ? "self-mask seed" : "mask key (it dropped)";
      if (list.length < threshold) {
        return `could not reconstruct node ${owner}'s ${what}: ${list.length} of the ${threshold} shares needed (reconstructionThreshold) came back`;
      }
      let secret: Uint8Array;
      try {
        secret = combineShares(list);
      } catch (cause) {
        return `node ${owner}'s shares do not combine: ${(cause as Error).message}`;
      }
      if (summed.has(owner)) {
        addMask(this.#vector, expandMask(secret, length), -1);
        continue;
      }
      const pk1 = publicKeys.get(owner)?.pk1;
      if (pk1 === undefined || !Buffer.from(publicKeyOf(secret)).equals(pk1)) {
        return `the key reconstructed for node ${owner} does not match its public key`;
      }
      for (const nid of summed) {
        if (!maskedWith.get(nid)?.srcs.includes(owner)) continue;
        const mask = expandMask(
          agreeKey(secret, publicKeys.get(nid)?.pk1 as Uint8Array, "pairwise-mask"),
          length,
        );
        addMask(this.#vector, mask, pairwiseSign(nid, owner) === 1 ? -1 : 1);
      }
    }
    reduceModulo(this.#vector, this.#options.modulusRange);
    return this.#average(summed);
  }

  /** The unmasked sums, dequantized and divided by the quantized total weight. */
  #average(summed: ReadonlySet<bigint>): ArrayRecord | string {
    const { maxWeight, quantizationRange } = this.#options;
    let expected = 0;
    for (const nid of summed) {
      expected += quantizeWeight(this.#weights.get(nid) ?? 0, maxWeight, quantizationRange);
    }
    const total = this.#vector[0] as number;
    if (total !== expected) {
      return `unmasking gave a weight sum of ${total}, not the ${expected} the nodes' weights make (a node masked another weight than it reported, or a mask was not removed)`;
    }
    if (total === 0) return "the updates' total weight is 0";
    const layout = this.layout;
    const scale = quantizationRange / total;
    const out = new ArrayRecord();
    let offset = 1;
    layout.names.forEach((name, i) => {
      const shape = layout.shapes[i] as readonly number[];
      const size = shape.reduce((a, b) => a * b, 1);
      const values =
        layout.dtypes[i] === "float32" ? new Float32Array(size) : new Float64Array(size);
      for (let k = 0; k < size; k++) {
        values[k] =
          dequantizeSum(this.#vector[offset + k] as number, summed.size, this.#options) * scale;
      }
      out.set(name, FlowerArray.fromTypedArray(values, shape));
      offset += size;
    });
    return out;
  }
}
