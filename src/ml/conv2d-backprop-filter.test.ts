import type { Conv2DBackpropFilterAttrs, Tensor, Tensor4D } from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../core/numeric/random.ts";
import { initTfjs, type Tfjs } from "./tfjs-backend.ts";

let tf: Tfjs;
beforeAll(async () => {
  tf = await initTfjs({ backend: "wasm" });
});

type Pad = Conv2DBackpropFilterAttrs["pad"];
type Rounding = Conv2DBackpropFilterAttrs["dimRoundingMode"];
type Shape4 = [number, number, number, number];

/** Standard normal values, enough to fill `shape`. */
function randomValues(shape: readonly number[], seed: number): Float32Array {
  const rng = createRng("conv2d-backprop-filter.test", seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** Runs `f` on `backend` with fresh tensors there, and returns the values of what it returns. */
async function on(backend: string, f: () => Tensor): Promise<Float32Array> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(f);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  } finally {
    await tf.setBackend(previous);
  }
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  }
  expect(worst / scale).toBeLessThan(1e-5);
}

describe("Conv2DBackpropFilter on wasm", () => {
  // [x shape, filter shape, strides, pad, rounding]: odd sizes, strides that do not divide the input,
  // strides larger than the filter, 1x1 filters, and every padding form tfjs accepts.
  const cases: [Shape4, Shape4, number | [number, number], Pad, Rounding?][] = [
    [[2, 5, 5, 3], [2, 2, 3, 4], 2, "valid"],
    [[2, 5, 5, 3], [3, 3, 3, 4], 2, "same"],
    [[1, 7, 6, 2], [3, 2, 2, 5], [2, 3], "same"],
    [[1, 7, 6, 2], [3, 2, 2, 5], [2, 3], "valid"],
    [[3, 12, 12, 1], [5, 5, 1, 8], 1, "same"],
    [[2, 9, 8, 4], [1, 1, 4, 3], 2, "valid"],
    [[2, 8, 8, 4], [3, 3, 4, 2], 1, 1],
    [[2, 6, 6, 2], [3, 3, 2, 3], 2, 0, "ceil"], // the last window reaches past the input
    [
      [1, 6, 7, 2],
      [3, 3, 2, 2],
      2,
      [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    ],
  ];

  it.each(cases)(
    "matches the cpu kernel for x %j, filter %j, strides %j, pad %j, rounding %s",
    async (xShape, filterShape, strides, pad, dimRoundingMode) => {
      const yShape = tf.backend_util.computeConv2DInfo(
        xShape,
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
      ).outShape;
      const x = randomValues(xShape, 1);
      const dy = randomValues(yShape, 2);
      const attrs = { strides, pad, dimRoundingMode, dataFormat: "NHWC", filterShape };
      const dw = () =>
        tf
          .engine()
          .runKernel(
            "Conv2DBackpropFilter",
            { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, yShape) },
            attrs as never,
          ) as Tensor;
      expectClose(await on("wasm", dw), await on("cpu", dw));
    },
  );

  // Whole gradients through tf.grad. (Cases where a stride exceeds the filter are left out: the
  // wasm *forward* Conv2D returns zeros for those, a tfjs-backend-wasm 4.22 bug of its own.)
  it.each(
    cases.filter(
      ([, [fh, fw], s, , rounding]) =>
        rounding === undefined && (Math.max(...[s].flat()) <= Math.min(fh, fw) || fh * fw === 1),
    ),
  )(
    "gives the cpu gradient of a conv2d for x %j, filter %j, strides %j, pad %j",
    async (xShape, filterShape, strides, pad) => {
      const x = randomValues(xShape, 3);
      const f = randomValues(filterShape, 4);
      const grad = () =>
        tf.grad((filter) =>
          tf
            .conv2d(tf.tensor4d(x, xShape), filter as Tensor4D, strides, pad)
            .square()
            .sum(),
        )(tf.tensor4d(f, filterShape));
      expectClose(await on("wasm", grad), await on("cpu", grad));
    },
  );

  it("lets a small CNN train with model.fit", async () => {
    expect(tf.getBackend()).toBe("wasm");
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: "same",
          activation: "relu",
        }),
        tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: "softmax" }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: "categoricalCrossentropy" });
    const xs = tf.tensor4d(randomValues([16, 8, 8, 1], 5), [16, 8, 8, 1]);
    const ys = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 2),
        "int32",
      ),
      2,
    );
    const before = model.layers[0]?.getWeights()[0]?.dataSync().slice();
    const history = await model.fit(xs, ys, {
      epochs: 2,
      batchSize: 8,
      shuffle: false,
      verbose: 0,
    });
    const after = model.layers[0]?.getWeights()[0]?.dataSync();
    expect(history.history.loss?.every((l) => Number.isFinite(l as number))).toBe(true);
    expect(after).not.toEqual(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
