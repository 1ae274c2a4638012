import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  registerKernel,
  type TensorInfo,
} from "@tensorflow/tfjs";

/** The backend whose missing kernel this file supplies. */
const BACKEND = "wasm";

/** The parts of the wasm backend (`BackendWasm`) this kernel uses. */
interface Backend {
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships without it (so `model.fit` on a
 * CNN fails there with "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'").
 *
 * The filter gradient is an im2col product. Each filter tap (i, j) and input channel c sees
 * one strided window of the zero-padded input, one value per output position n (batch, row,
 * column); writing these as the rows of a `[fh*fw*cin, N]` matrix `Pᵀ` gives
 * `dW = Pᵀ · dy` (dy as `[N, cout]`), whose rows are already in the filter's
 * `[fh, fw, cin, cout]` order. `Pᵀ` is filled by a plain loop straight into wasm memory (the
 * backend's StridedSlice is far too slow for this), and the product runs on the backend's
 * untransposed `BatchMatMul`, its fast XNNPACK path.
 *
 * Supports NHWC input, any strides, 'same' / 'valid' / numeric / explicit padding and the
 * dimension rounding modes; dilations are always 1 here, as tfjs's conv2d gradient requires.
 * (The wasm `Conv3DBackpropFilterV2` kernel is no shortcut: it drops positions for strides > 1.)
 */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: BACKEND,
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};

/**
 * Registers {@link conv2DBackpropFilterConfig} unless the wasm backend already has a
 * `Conv2DBackpropFilter` kernel (ours, or a native one in a later tfjs). Safe to call often.
 */
export function registerWasmConv2DBackpropFilter(): void {
  if (getKernel(conv2DBackpropFilterConfig.kernelName, BACKEND) !== undefined) return;
  registerKernel(conv2DBackpropFilterConfig);
}

function conv2DBackpropFilter(args: {
  inputs: NamedTensorInfoMap;
  backend: Backend;
  attrs: NamedAttrMap;
}): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === "NCHW") {
    throw new Error("Conv2DBackpropFilter on wasm supports only the NHWC data format");
  }
  if (x.dtype !== "float32" || dy.dtype !== "float32") {
    throw new Error("Conv2DBackpropFilter on wasm supports only float32 tensors");
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const rows = batchSize * outHeight * outWidth;

  const patches = backend.makeOutput([filterHeight * filterWidth * inChannels, rows], "float32");
  const temps: TensorInfo[] = [patches];
  try {
    // Views into wasm memory: take them only now, after the last allocation before the loop.
    const xs = backend.typedArrayFromHeap(x);
    const pt = backend.typedArrayFromHeap(patches);
    let at = 0;
    for (let i = 0; i < filterHeight; i++) {
      for (let j = 0; j < filterWidth; j++) {
        for (let c = 0; c < inChannels; c++) {
          for (let b = 0; b < batchSize; b++) {
            for (let r = 0; r < outHeight; r++) {
              const xr = r * strideHeight + i - padInfo.top;
              const rowInside = xr >= 0 && xr < inHeight;
              const rowBase = (b * inHeight + xr) * inWidth;
              for (let q = 0; q < outWidth; q++) {
                const xc = q * strideWidth + j - padInfo.left;
                pt[at++] =
                  rowInside && xc >= 0 && xc < inWidth
                    ? (xs[(rowBase + xc) * inChannels + c] as number)
                    : 0;
              }
            }
          }
        }
      }
    }
    const run = (kernelName: string, kernelInputs: NamedTensorInfoMap, kernelAttrs: object) => {
      const out = getKernel(kernelName, BACKEND).kernelFunc({
        inputs: kernelInputs,
        backend,
        attrs: kernelAttrs as NamedAttrMap,
      }) as TensorInfo;
      temps.push(out);
      return out;
    };
    const g = run("Reshape", { x: dy }, { shape: [rows, outChannels] });
    const dw = run("BatchMatMul", { a: patches, b: g }, { transposeA: false, transposeB: false });
    temps.pop(); // the result is the caller's
    return { dataId: dw.dataId, shape: attrs.filterShape.slice(), dtype: "float32" };
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}
