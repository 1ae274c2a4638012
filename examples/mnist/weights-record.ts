import { ArrayRecord, FlowerArray } from "fedbridge";
import type { NamedWeight } from "fedbridge/ml";

/** A model's weights as an ArrayRecord (one float32 FlowerArray per weight, by name) and back. */

export function toRecord(weights: readonly NamedWeight[]): ArrayRecord {
  return new ArrayRecord(
    weights.map(({ name, shape, data }) => [name, FlowerArray.fromTypedArray(data, shape)]),
  );
}

export function fromRecord(record: ArrayRecord): NamedWeight[] {
  return [...record].map(([name, array]) => ({
    name,
    shape: [...array.shape],
    data: array.toTypedArray() as Float32Array,
  }));
}
