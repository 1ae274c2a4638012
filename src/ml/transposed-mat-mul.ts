import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from "@tensorflow/tfjs";

const BACKEND = "wasm";
const KERNEL = "BatchMatMul";
/** Marks our wrapper, across copies of this module, so it is never wrapped twice. */
const WRAPPED = Symbol.for("fedbridge.ml.transposedMatMul");

interface Backend {
  disposeData(dataId: object): boolean;
}

/**
 * Makes transposed matrix products fast on the wasm backend, which is what training needs.
 *
 * tfjs-backend-wasm sends `BatchMatMul` to XNNPACK only when neither operand is transposed;
 * with `transposeA` or `transposeB` it falls back to a scalar triple loop, 10-20x slower. Every
 * dense layer's backward pass asks for both (dW = xᵀ·dy, dx = dy·Wᵀ), so training an MLP
 * spends most of its time there. This wraps the backend's kernel: a transposed operand is
 * first transposed explicitly (the backend's Transpose kernel, a cheap copy), then the fast
 * path runs. Results equal the slow path's up to float rounding. Safe to call often.
 */
export function registerWasmTransposedMatMul(): void {
  const original = getKernel(KERNEL, BACKEND);
  if (original === undefined || WRAPPED in original.kernelFunc) return;
  const inner = original.kernelFunc;
  const kernelFunc = (args: {
    inputs: NamedTensorInfoMap;
    backend: Backend;
    attrs: NamedAttrMap;
  }) => {
    const { transposeA, transposeB } = args.attrs;
    if (!transposeA && !transposeB) return inner(args);
    const temps: TensorInfo[] = [];
    const untransposed = (t: TensorInfo, transposed: unknown): TensorInfo => {
      if (!transposed) return t;
      const rank = t.shape.length;
      const perm = [...t.shape.keys()];
      [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
      const out = getKernel("Transpose", BACKEND).kernelFunc({
        inputs: { x: t },
        backend: args.backend,
        attrs: { perm },
      }) as TensorInfo;
      temps.push(out);
      return out;
    };
    try {
      return inner({
        inputs: {
          a: untransposed(args.inputs.a as TensorInfo, transposeA),
          b: untransposed(args.inputs.b as TensorInfo, transposeB),
        },
        backend: args.backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temps) args.backend.disposeData(t.dataId);
    }
  };
  Object.defineProperty(kernelFunc, WRAPPED, { value: true });
  const config: KernelConfig = { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
  unregisterKernel(KERNEL, BACKEND);
  registerKernel(config);
}
