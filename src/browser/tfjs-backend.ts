// The browser build's src/ml/tfjs-backend.ts: the same `initTfjs`, choosing among the
// backends a browser has. The wasm binaries are served by `fedbridge web-node` at /tfjs-wasm/.
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerWasmConv2DBackpropFilter } from "../ml/conv2d-backprop-filter.ts";
import type { InitTfjsOptions, Tfjs, TfjsBackendName } from "../ml/tfjs-backend.ts";
import { registerWasmTransposedMatMul } from "../ml/transposed-mat-mul.ts";

export type { InitTfjsOptions, Tfjs, TfjsBackendName } from "../ml/tfjs-backend.ts";

/** Where `fedbridge web-node` serves @tensorflow/tfjs-backend-wasm's .wasm files. */
export const TFJS_WASM_PATH = "/tfjs-wasm/";

let ready: Promise<Tfjs> | undefined;

/**
 * Picks the backend once per page: "auto" is WebGPU where the page's tfjs has it and the
 * browser offers a GPU adapter, else WebGL where a context can be made, else WebAssembly
 * (always there); "wasm" and "cpu" ask for those. "tensorflow" (tfjs-node) is Node's only.
 */
export function initTfjs(options: InitTfjsOptions = {}): Promise<Tfjs> {
  ready ??= select(options.backend ?? backendFromPage()).then((tfjs) => {
    // Shown in the page (the app runs in its worker; see clientapp-web-worker.ts).
    const notify = (globalThis as { fedbridgeNotice?: (notice: string) => void }).fedbridgeNotice;
    notify?.(`TensorFlow.js backend: ${tfjs.getBackend()}`);
    return tfjs;
  });
  return ready;
}

/** Names a browser may ask for, besides Node's (`fedbridge web-node --tfjs-backend`). */
type BrowserBackend = TfjsBackendName | "webgl" | "webgpu" | "auto";

/**
 * `fedbridge web-node --tfjs-backend NAME` reaches the worker as `?tfjs-backend=NAME` on its
 * script's URL, as FEDBRIDGE_TFJS_BACKEND does on Node.
 */
function backendFromPage(): BrowserBackend {
  const search = (globalThis as { location?: { search: string } }).location?.search ?? "";
  const name = new URLSearchParams(search).get("tfjs-backend") ?? "auto";
  if (!["auto", "webgpu", "webgl", "wasm", "cpu"].includes(name)) {
    throw new Error(`tfjs-backend must be auto, webgpu, webgl, wasm or cpu, not "${name}"`);
  }
  return name as BrowserBackend;
}

async function select(requested: BrowserBackend): Promise<Tfjs> {
  if (requested === "tensorflow") {
    throw new Error("the tensorflow backend (tfjs-node) is not available in a browser");
  }
  if (requested === "cpu") {
    await tf.setBackend("cpu");
    return tf;
  }
  if (requested === "webgl" || requested === "webgpu") {
    if (await tf.setBackend(requested).catch(() => false)) return tf;
    throw new Error(`this browser cannot run the tfjs ${requested} backend`);
  }
  if (requested === "auto") {
    for (const name of ["webgpu", "webgl"]) {
      if (tf.findBackendFactory(name) === null) continue;
      if (await tf.setBackend(name).catch(() => false)) return tf;
    }
  }
  setWasmPaths(TFJS_WASM_PATH);
  registerWasmConv2DBackpropFilter();
  registerWasmTransposedMatMul();
  if (!(await tf.setBackend("wasm"))) throw new Error("the tfjs wasm backend failed to start");
  return tf;
}
