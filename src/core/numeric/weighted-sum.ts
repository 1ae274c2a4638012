import { simdKernel } from "./weighted-sum-simd.ts";

/**
 * A float32 input of the FedAvg kernel: its values, or their little-endian bytes at any
 * alignment (a received NPY array's data is summed where it lies, with no aligned copy first).
 */
export type Float32Input = Float32Array | Uint8Array;

/** How many floats an input holds. */
export function floatCount(input: Float32Input): number {
  return input instanceof Float32Array ? input.length : input.byteLength / 4;
}

/**
 * The FedAvg kernel: `out[j] = Σ_i fround(weights[i] * inputs[i][j])`, summed in float32 in the
 * order of `inputs`: numpy's order, which the Flower-style strategies keep.
 *
 * Exactly: with `w_i = Math.fround(weights[i])` and `acc = +0`, for each input in order
 * `acc = fround(acc + fround(w_i * x_i[j]))`. The result is the same bit for bit (NaN payloads
 * aside) on every platform and in both implementations (the WebAssembly SIMD kernel and the JS
 * fallback), so a federated run stays reproducible from its seed. `out`, when given, must have
 * the inputs' length and must not overlap them; otherwise a new array is returned. Lengths that
 * differ throw a RangeError. (The runtime's ScatterAndGather sums in another order:
 * {@link addScaledFloat32}.)
 *
 * The kernel runs at close to memory speed: it streams each input once, in cache-sized blocks
 * copied into WebAssembly memory, and writes `out` once. Where WebAssembly SIMD is missing it
 * falls back to {@link weightedSumFloat32Js}.
 *
 * @example
 * const mean = weightedSumFloat32([a, b], [0.25, 0.75]);
 */
export function weightedSumFloat32(
  inputs: readonly Float32Input[],
  weights: readonly number[],
  out?: Float32Array,
): Float32Array {
  const length = checkShapes(inputs, weights, out);
  const target = out ?? new Float32Array(length);
  const kernel = simdKernel();
  if (kernel === undefined) return sumJs(inputs, weights, target);
  return kernel(inputs, weights, target);
}

/**
 * The same sum as {@link weightedSumFloat32}, bit for bit, in plain JS. It is the fallback where
 * WebAssembly SIMD is missing, and reaches only about a fifth to a half of memory speed.
 */
export function weightedSumFloat32Js(
  inputs: readonly Float32Input[],
  weights: readonly number[],
  out?: Float32Array,
): Float32Array {
  const length = checkShapes(inputs, weights, out);
  return sumJs(inputs, weights, out ?? new Float32Array(length));
}

/** Whether this engine runs WebAssembly SIMD, so that {@link weightedSumFloat32} uses it. */
export function hasWasmSimd(): boolean {
  return simdKernel() !== undefined;
}

/** Returns the common length of the inputs, or throws a RangeError. */
function checkShapes(
  inputs: readonly Float32Input[],
  weights: readonly number[],
  out: Float32Array | undefined,
): number {
  if (weights.length !== inputs.length) {
    throw new RangeError(
      `weightedSumFloat32: ${weights.length} weights for ${inputs.length} inputs; they must match`,
    );
  }
  const first = inputs[0];
  const length = first === undefined ? (out?.length ?? 0) : floatCount(first);
  inputs.forEach((input, i) => {
    if (!Number.isInteger(floatCount(input)))
      throw new RangeError(
        `weightedSumFloat32: input ${i} has ${input.byteLength} bytes, not a whole number of float32`,
      );
    if (floatCount(input) !== length) {
      throw new RangeError(
        `weightedSumFloat32: input ${i} has length ${floatCount(input)}, input 0 has ${length}; all inputs must have the same length`,
      );
    }
  });
  if (out !== undefined && out.length !== length) {
    throw new RangeError(
      `weightedSumFloat32: out has length ${out.length}, the inputs have ${length}; they must match`,
    );
  }
  return length;
}

/**
 * `acc[j] += fround(w * x[j])` on a Float32Array is float32 arithmetic exactly: the product of two
 * floats is exact in double and rounded once by fround, and the double sum of two floats rounded
 * once to float equals their float32 sum. Inputs go two per pass, which halves the accumulator's
 * memory traffic (about a quarter faster than one per pass).
 */
function sumJs(
  given: readonly Float32Input[],
  weights: readonly number[],
  acc: Float32Array,
): Float32Array {
  const inputs = given.map(asFloats);
  const f = Math.fround;
  const n = acc.length;
  acc.fill(0);
  let i = 0;
  for (; i + 2 <= inputs.length; i += 2) {
    const x = inputs[i] as Float32Array;
    const y = inputs[i + 1] as Float32Array;
    const wx = f(weights[i] as number);
    const wy = f(weights[i + 1] as number);
    for (let j = 0; j < n; j++) {
      acc[j] = f((acc[j] as number) + f(wx * (x[j] as number))) + f(wy * (y[j] as number));
    }
  }
  if (i < inputs.length) {
    const x = inputs[i] as Float32Array;
    const wx = f(weights[i] as number);
    for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + f(wx * (x[j] as number));
  }
  return acc;
}

/** An input as a Float32Array: a view where aligned, else a copy (the JS fallback only). */
function asFloats(input: Float32Input): Float32Array {
  if (input instanceof Float32Array) return input;
  if (input.byteOffset % 4 === 0)
    return new Float32Array(input.buffer, input.byteOffset, input.byteLength / 4);
  return new Float32Array(new Uint8Array(input).buffer);
}

/**
 * `acc[j] = fround(acc[j] + weight * values[j])`, the product and the sum in float64 and rounded
 * to float32 once: the runtime's ScatterAndGather order, which folds one site's result at a time
 * with its raw weight (its example count) and divides by the total at the end. It is not
 * {@link weightedSumFloat32}'s order (that rounds each product to float32 first), and the two give
 * different bits: each keeps its own, so neither side's models change. Lengths that differ throw
 * a RangeError.
 *
 * Plain JS on purpose: with one input per call the accumulator would be copied into WebAssembly
 * memory and back for each input, and a SIMD version (f64x2) measured no faster than this loop.
 */
export function addScaledFloat32(acc: Float32Array, values: Float32Array, weight: number): void {
  if (values.length !== acc.length) {
    throw new RangeError(
      `addScaledFloat32: values have length ${values.length}, acc has ${acc.length}; they must match`,
    );
  }
  for (let j = 0; j < values.length; j++)
    acc[j] = (acc[j] as number) + weight * (values[j] as number);
}
