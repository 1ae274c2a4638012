// fedbridge/ml: TensorFlow.js set-up and model-weight helpers for client apps.
export {
  conv2DBackpropFilterConfig,
  registerWasmConv2DBackpropFilter,
} from "./conv2d-backprop-filter.ts";
export type { InitTfjsOptions, Tfjs, TfjsBackendName } from "./tfjs-backend.ts";
export { initTfjs } from "./tfjs-backend.ts";
export { registerWasmTransposedMatMul } from "./transposed-mat-mul.ts";
export type { NamedWeight } from "./weights.ts";
export { getWeights, setWeights } from "./weights.ts";
