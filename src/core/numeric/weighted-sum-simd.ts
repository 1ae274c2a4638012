import { copyBytes } from "../copy-bytes.ts";
import type { Float32Input } from "./weighted-sum.ts";
import { weightedSumWasmBase64 } from "./weighted-sum-wasm.ts";

// The WebAssembly side of weightedSumFloat32: the module (weighted-sum.wat, assembled into
// weighted-sum-wasm.ts by scripts/build-wasm.ts), its memory layout, and the loop that feeds it
// cache-sized blocks.

/**
 * `out = Σ_i fround(fround(weights[i]) · inputs[i])` in float32, in the order of `inputs`, as
 * weightedSumFloat32 documents it; the caller has checked the lengths.
 */
export type SimdKernel = (
  inputs: readonly Float32Input[],
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

let kernelState: SimdKernel | null | undefined;

/** The SIMD kernel, instantiated on first use; undefined where WebAssembly SIMD is missing. */
export function simdKernel(): SimdKernel | undefined {
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

function createSimdKernel(): SimdKernel | null {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(simdProbe)) return null;
  // Layout: the accumulator block, the group's weights, then one staging block per input.
  const blockBytes = blockFloats * 4;
  const accPtr = 0;
  const weightsPtr = blockBytes;
  const stagingPtr = weightsPtr + Math.ceil((groupSize * 4) / 64) * 64;
  const strideBytes = blockBytes + stagingPadBytes;
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
  const stagingBytes = new Uint8Array(memory.buffer, stagingPtr, groupSize * strideBytes);

  return (inputs, weights, out) => {
    const length = out.length;
    if (inputs.length === 0) return out.fill(0);
    for (let start = 0; start < length; start += blockFloats) {
      const end = Math.min(start + blockFloats, length);
      for (let first = 0; first < inputs.length; first += groupSize) {
        const count = Math.min(groupSize, inputs.length - first);
        for (let c = 0; c < count; c++) {
          groupWeights[c] = weights[first + c] as number;
          const input = inputs[first + c] as Float32Input;
          // Staged as bytes (memcpy: inputs are often in shared memory, at any alignment); a
          // misaligned input needs no aligned copy of its own. 100 arrays of 1M floats, 2 inputs:
          // 84 ms aligned and 225 ms not with set, 60 ms either way.
          const bytes =
            input instanceof Float32Array
              ? new Uint8Array(input.buffer, input.byteOffset + start * 4, (end - start) * 4)
              : input.subarray(start * 4, end * 4);
          copyBytes(stagingBytes, bytes, c * strideBytes);
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
