import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { NumericTypedArray } from "../../core/numeric/npy.ts";
import { FlowerArray } from "./array.ts";
import { entriesOf, type RecordInit } from "./typed-record.ts";

/** A typed array with its shape, the plain form of one array of a model. */
export interface ShapedValues {
  values: NumericTypedArray;
  shape: readonly number[];
}

/**
 * Arrays by name in insertion order (a model's layers), as Flower 1.28's `ArrayRecord`.
 *
 * @example
 * const model = ArrayRecord.fromTypedArrays([{ values: weights, shape: [784, 10] }]);
 * const [w] = model.toTypedArrays();
 */
export class ArrayRecord extends Map<string, FlowerArray> {
  constructor(init?: RecordInit<FlowerArray>) {
    super();
    for (const [key, value] of entriesOf(init)) this.set(key, value);
  }

  override set(key: string, value: FlowerArray): this {
    if (typeof key !== "string")
      throw new FedbridgeError(Code.InvalidArgument, "ArrayRecord keys must be strings");
    if (!(value instanceof FlowerArray)) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `ArrayRecord value for '${key}' must be an Array`,
      );
    }
    return super.set(key, value);
  }

  /** Named "0", "1", ... in order, as Flower names a list of numpy arrays. */
  static fromTypedArrays(arrays: readonly ShapedValues[]): ArrayRecord {
    return new ArrayRecord(
      arrays.map(({ values, shape }, i) => [String(i), FlowerArray.fromTypedArray(values, shape)]),
    );
  }

  /** The values of every array, in order. */
  toTypedArrays(): NumericTypedArray[] {
    return [...this.values()].map((array) => array.toTypedArray());
  }

  /** Total bytes of array data. */
  countBytes(): number {
    let total = 0;
    for (const array of this.values()) total += array.numbytes;
    return total;
  }
}
