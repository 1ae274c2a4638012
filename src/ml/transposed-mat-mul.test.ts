import type { Tensor } from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../core/numeric/random.ts";
import { initTfjs, type Tfjs } from "./tfjs-backend.ts";
import { registerWasmTransposedMatMul } from "./transposed-mat-mul.ts";

let tf: Tfjs;
beforeAll(async () => {
  tf = await initTfjs({ backend: "wasm" });
});

function values(shape: number[], seed: number): Float32Array {
  const rng = createRng("transposed-mat-mul.test", seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
}

async function on(backend: string, f: () => Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(f);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return data;
  } finally {
    await tf.setBackend("wasm");
  }
}

describe("BatchMatMul on wasm with transposed operands", () => {
  it("is wrapped once, however often it is registered", () => {
    const kernelFunc = tf.getKernel("BatchMatMul", "wasm").kernelFunc;
    registerWasmTransposedMatMul();
    expect(tf.getKernel("BatchMatMul", "wasm").kernelFunc).toBe(kernelFunc);
  });

  // [a shape, b shape, transposeA, transposeB]
  const cases: [number[], number[], boolean, boolean][] = [
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[5, 7], [7, 3], false, false],
    [[2, 7, 5], [2, 7, 3], true, false],
    [[2, 5, 7], [1, 3, 7], false, true],
  ];

  it.each(cases)(
    "matches the cpu backend for a %j, b %j, transposeA %s, transposeB %s",
    async (aShape, bShape, ta, tb) => {
      const a = values(aShape, 1);
      const b = values(bShape, 2);
      const product = () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb);
      const wasm = await on("wasm", product);
      const cpu = await on("cpu", product);
      expect(wasm.length).toBe(cpu.length);
      for (const [i, v] of wasm.entries()) expect(v).toBeCloseTo(cpu[i] as number, 4);
    },
  );
});
