import { weightedSumWasmBase64 } from "./weighted-sum-wasm.ts";

/**
 * The FedAvg kernel: `out[j] = Σ_i fround(weights[i] * inputs[i][j])`, summed in float32 in the
 * order of `inputs`.
 *
 * Exactly: with `w_i = Math.fround(weights[i])` and `acc = +0`, for each input in order
 * `acc = fround(acc + fround(w_i * x_i[j]))`. The result is the same bit for bit (NaN payloads
 * aside) on every platform and in both implementations (the WebAssembly SIMD kernel and the JS
 * fallback), so a federated run stays reproducible from its seed. `out`, when given, must have
 * the inputs' length and must not overlap them; otherwise a new array is returned. Lengths that
 * differ throw a RangeError.
 *
 * The kernel runs at close to memory speed: it streams each input once, in cache-sized blocks
 * copied into WebAssembly memory, and writes `out` once. Where WebAssembly SIMD is missing it
 * falls back to {@link weightedSumFloat32Js}.
 *
 * @example
 * const mean = weightedSumFloat32([a, b], [0.25, 0.75]);
 */
export function weightedSumFloat32(
  inputs: readonly Float32Array[],
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
  inputs: readonly Float32Array[],
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
  inputs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array | undefined,
): number {
  if (weights.length !== inputs.length) {
    throw new RangeError(
      `weightedSumFloat32: ${weights.length} weights for ${inputs.length} inputs; they must match`,
    );
  }
  const length = inputs[0]?.length ?? out?.length ?? 0;
  inputs.forEach((input, i) => {
    if (input.length !== length) {
      throw new RangeError(
        `weightedSumFloat32: input ${i} has length ${input.length}, input 0 has ${length}; all inputs must have the same length`,
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
  inputs: readonly Float32Array[],
  weights: readonly number[],
  acc: Float32Array,
): Float32Array {
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

type Kernel = (
  inputs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
) => Float32Array;

/**
 * Floats per block. Per kernel call, the accumulator block and a group's staging blocks (about
 * 0.5 MB) stay in the L2 cache while each input is read once from memory. A multiple of 16, the
 * kernel's step. Tuned with `npm run bench -- aggregate`: 8K and 16K floats and groups of 8 to 16
 * were within noise of each other (±5%); 2K, and 32K with 10 clients, were slower.
 */
const blockFloats = 8192;
/** Inputs staged per kernel call: the kernel keeps the sums in registers across them. */
const groupSize = 16;
/**
 * Padding between staging blocks, so that the group's blocks do not start on the same cache sets
 * (their size is a power of two).
 */
const stagingPadBytes = 64;

/** A module with one SIMD instruction (`v128.const`): it validates where SIMD runs. */
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

let kernelState: Kernel | null | undefined;

/** The SIMD kernel, instantiated on first use; undefined where WebAssembly SIMD is missing. */
function simdKernel(): Kernel | undefined {
  if (kernelState === undefined) kernelState = createSimdKernel();
  return kernelState ?? undefined;
}

/**
 * The part of the WebAssembly JS API used here: the project's type libraries (ES2023 and Node's)
 * do not declare the global, and an engine may lack it.
 */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
}

interface WeightedSumExports {
  accumulate(
    acc: number,
    src: number,
    stride: number,
    weights: number,
    count: number,
    n: number,
    init: number,
  ): void;
}

function createSimdKernel(): Kernel | null {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(simdProbe)) return null;
  // Layout: the accumulator block, the group's weights, then one staging block per input.
  const blockBytes = blockFloats * 4;
  const accPtr = 0;
  const weightsPtr = blockBytes;
  const stagingPtr = weightsPtr + Math.ceil((groupSize * 4) / 64) * 64;
  const strideBytes = blockBytes + stagingPadBytes;
  const strideFloats = strideBytes / 4;
  const bytes = stagingPtr + groupSize * strideBytes;
  const memory = new wasm.Memory({ initial: Math.ceil(bytes / 65536) });
  let accumulate: WeightedSumExports["accumulate"];
  try {
    const module = new wasm.Module(
      Uint8Array.from(atob(weightedSumWasmBase64), (c) => c.charCodeAt(0)),
    );
    const instance = new wasm.Instance(module, { env: { memory } });
    ({ accumulate } = instance.exports as unknown as WeightedSumExports);
  } catch {
    return null; // e.g. a browser whose content security policy forbids compiling WebAssembly
  }
  const acc = new Float32Array(memory.buffer, accPtr, blockFloats);
  const groupWeights = new Float32Array(memory.buffer, weightsPtr, groupSize);
  const staging = new Float32Array(memory.buffer, stagingPtr, groupSize * strideFloats);

  return (inputs, weights, out) => {
    const length = out.length;
    if (inputs.length === 0) return out.fill(0);
    for (let start = 0; start < length; start += blockFloats) {
      const end = Math.min(start + blockFloats, length);
      for (let first = 0; first < inputs.length; first += groupSize) {
        const count = Math.min(groupSize, inputs.length - first);
        for (let c = 0; c < count; c++) {
          groupWeights[c] = weights[first + c] as number;
          staging.set((inputs[first + c] as Float32Array).subarray(start, end), c * strideFloats);
        }
        accumulate(
          accPtr,
          stagingPtr,
          strideBytes,
          weightsPtr,
          count,
          end - start,
          first === 0 ? 1 : 0,
        );
      }
      out.set(acc.subarray(0, end - start), start);
    }
    return out;
  };
}
