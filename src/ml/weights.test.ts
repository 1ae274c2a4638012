import type { Tensor } from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initTfjs, type Tfjs } from "./tfjs-backend.ts";
import { getWeights, setWeights } from "./weights.ts";

let tf: Tfjs;
beforeAll(async () => {
  tf = await initTfjs({ backend: "wasm" });
});

function model() {
  return tf.sequential({
    layers: [
      tf.layers.dense({ name: "a", inputShape: [3], units: 2 }),
      tf.layers.dense({ name: "b", units: 1, useBias: false }),
    ],
  });
}

describe("getWeights / setWeights", () => {
  it("lists every weight in order, named as declared, and copies the values out", () => {
    const m1 = model();
    const m2 = model(); // a second model with the same layer names: tfjs suffixes its variables
    const weights = getWeights(m2);
    expect(weights.map((w) => [w.name, w.shape])).toEqual([
      ["a/kernel", [3, 2]],
      ["a/bias", [2]],
      ["b/kernel", [2, 1]],
    ]);
    weights[0]?.data.fill(42); // a copy: the model keeps its values
    expect(getWeights(m2)[0]?.data).not.toContain(42);
    m1.dispose();
    m2.dispose();
  });

  it("sets them back, so that two models compute the same", () => {
    const source = model();
    const target = model();
    setWeights(target, getWeights(source));
    const x = tf.tensor2d([[1, 2, 3]]);
    const y1 = (source.predict(x) as Tensor).dataSync();
    const y2 = (target.predict(x) as Tensor).dataSync();
    expect(Array.from(y2)).toEqual(Array.from(y1));
    source.dispose();
    target.dispose();
    x.dispose();
  });

  it("rejects weights that do not fit the model, and changes nothing then", () => {
    const m = model();
    const before = getWeights(m);
    expect(() => setWeights(m, before.slice(1))).toThrow(/3 weight arrays, got 2/);
    const wrong = before.map((w, i) => (i === 2 ? { ...w, shape: [1, 2] } : w));
    expect(() => setWeights(m, wrong)).toThrow(/weight 2 \(b\/kernel\): expected shape \[2,1\]/);
    expect(getWeights(m)).toEqual(before);
    m.dispose();
  });
});
