import type { NamedWeight } from "fedbridge/ml";
import { describe, expect, it } from "vitest";
import {
  createModel,
  evaluate,
  IMAGE_SIZE,
  initialWeights,
  loadDigits,
  NUM_CLASSES,
  partition,
  partitionIndices,
  subset,
  train,
} from "./task.ts";

/** Bit-for-bit equality of typed arrays (faster than toEqual on millions of values). */
function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return bytes(a).equals(bytes(b));
}

function sameWeights(a: readonly NamedWeight[], b: readonly NamedWeight[]): boolean {
  return (
    a.length === b.length &&
    a.every((w, i) => {
      const v = b[i] as NamedWeight;
      return w.name === v.name && `${w.shape}` === `${v.shape}` && sameBits(w.data, v.data);
    })
  );
}

describe("loadDigits", () => {
  it("holds out 2,000 of the 10,000 digits, every class on both sides", () => {
    const { train, test } = loadDigits();
    expect(train.labels.length).toBe(8000);
    expect(test.labels.length).toBe(2000);
    for (const { images, labels } of [train, test]) {
      expect(images.length).toBe(labels.length * IMAGE_SIZE);
      expect(new Set(labels).size).toBe(NUM_CLASSES);
      expect(images.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });
});

describe("partition", () => {
  const numExamples = 8000;
  const all = (numPartitions: number, options: Parameters<typeof partitionIndices>[2]) =>
    Array.from({ length: numPartitions }, (_, p) => partitionIndices(p, numPartitions, options));

  it("IID: equal, disjoint parts that cover the training set", () => {
    const parts = all(7, { scheme: "iid", seed: 3 });
    const sizes = parts.map((p) => p.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    const seen = new Set(parts.flatMap((p) => Array.from(p)));
    expect(seen.size).toBe(numExamples);
    expect(sizes.reduce((a, b) => a + b)).toBe(numExamples);
  });

  it("IID: every part sees every digit", () => {
    const { labels } = loadDigits().train;
    for (const part of all(10, { seed: 1 })) {
      expect(new Set(Array.from(part, (i) => labels[i])).size).toBe(NUM_CLASSES);
    }
  });

  it("label-skew: disjoint parts that cover the training set, each dominated by few digits", () => {
    const { labels } = loadDigits().train;
    const parts = all(10, { scheme: "label-skew", seed: 1, alpha: 0.3 });
    const seen = new Set(parts.flatMap((p) => Array.from(p)));
    expect(seen.size).toBe(numExamples);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(numExamples);
    // Under IID each digit is ~10% of a part; here the commonest two hold most of it.
    const topTwoShare = parts.map((part) => {
      const counts = new Array<number>(NUM_CLASSES).fill(0);
      for (const i of part) counts[labels[i] as number] += 1;
      const [a = 0, b = 0] = counts.sort((x, y) => y - x);
      return (a + b) / part.length;
    });
    expect(topTwoShare.reduce((a, b) => a + b) / parts.length).toBeGreaterThan(0.5);
  });

  it("depends only on its options: same seed, same parts; another seed, other parts", () => {
    for (const scheme of ["iid", "label-skew"] as const) {
      expect(partitionIndices(2, 5, { scheme, seed: 9 })).toEqual(
        partitionIndices(2, 5, { scheme, seed: 9 }),
      );
      expect(partitionIndices(2, 5, { scheme, seed: 9 })).not.toEqual(
        partitionIndices(2, 5, { scheme, seed: 10 }),
      );
    }
  });

  it("IID parts ignore alpha, which only label-skew uses", () => {
    expect(partitionIndices(1, 4, { seed: 2, alpha: 0.1 })).toEqual(
      partitionIndices(1, 4, { seed: 2, alpha: Number.NaN }),
    );
  });

  it("returns the digits at its indices", () => {
    const indices = partitionIndices(4, 10, { seed: 1 });
    const data = partition(4, 10, { seed: 1 });
    const expected = subset(loadDigits().train, indices);
    expect(sameBits(data.images, expected.images)).toBe(true);
    expect(sameBits(data.labels, expected.labels)).toBe(true);
    const first = indices[0] as number;
    expect(data.images.subarray(0, IMAGE_SIZE)).toEqual(
      loadDigits().train.images.subarray(first * IMAGE_SIZE, (first + 1) * IMAGE_SIZE),
    );
  });

  it("rejects a partition id out of range", () => {
    expect(() => partitionIndices(10, 10)).toThrow(/partitionId/);
  });
});

describe("model, train and evaluate", () => {
  const data = subset(
    loadDigits().train,
    partitionIndices(0, 20, { seed: 1 }), // 400 digits: quick
  );
  const options = { epochs: 1, batchSize: 64, learningRate: 0.01 };

  it("builds the same initial weights from the same seed, other weights from another", async () => {
    const a = await initialWeights(1);
    expect(a.map((w) => w.name)).toEqual([
      "hidden/kernel",
      "hidden/bias",
      "logits/kernel",
      "logits/bias",
    ]);
    expect(a.map((w) => w.shape)).toEqual([
      [IMAGE_SIZE, 128],
      [128],
      [128, NUM_CLASSES],
      [NUM_CLASSES],
    ]);
    expect(sameWeights(await initialWeights(1), a)).toBe(true);
    expect((await initialWeights(2))[0]?.data).not.toEqual(a[0]?.data);
    const model = await createModel(1);
    expect(model.countParams()).toBe(IMAGE_SIZE * 128 + 128 + 128 * NUM_CLASSES + NUM_CLASSES);
    model.dispose();
  });

  it("trains deterministically: same inputs and seed, bit-identical weights", async () => {
    const start = await initialWeights(1);
    const first = await train(start, data, { ...options, seed: 5 });
    const again = await train(start, data, { ...options, seed: 5 });
    const other = await train(start, data, { ...options, seed: 6 });
    expect(first.numExamples).toBe(400);
    expect(sameWeights(again.weights, first.weights)).toBe(true);
    expect(again.loss).toBe(first.loss);
    expect(again.accuracy).toBe(first.accuracy);
    expect(sameWeights(other.weights, first.weights)).toBe(false);
    expect(sameWeights(first.weights, start)).toBe(false);
    expect(sameWeights(start, await initialWeights(1))).toBe(true); // the input is left alone
  });

  it("learns: the held-out accuracy rises well above chance", async () => {
    const { test } = loadDigits();
    const start = await initialWeights(1);
    const before = await evaluate(start, test);
    expect(before.numExamples).toBe(2000);
    expect(before.accuracy).toBeLessThan(0.3);
    const trained = await train(start, data, { ...options, epochs: 3, seed: 1 });
    expect(trained.accuracy).toBeGreaterThan(0.5);
    const after = await evaluate(trained.weights, test);
    expect(after.accuracy).toBeGreaterThan(0.7);
    expect(after.loss).toBeLessThan(before.loss);
  });
});
