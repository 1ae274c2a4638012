import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerWasmConv2DBackpropFilter } from "./conv2d-backprop-filter.ts";
import { registerWasmTransposedMatMul } from "./transposed-mat-mul.ts";

/** The TensorFlow.js namespace, as `import * as tf from "@tensorflow/tfjs"` gives it. */
export type Tfjs = typeof tf;

/**
 * Where tensors are computed. `tensorflow` is libtensorflow through `@tensorflow/tfjs-node`
 * (fastest, used only where the user installed it), `wasm` is the portable default, `cpu` is
 * tfjs's plain-JavaScript reference backend (slow).
 */
export type TfjsBackendName = "tensorflow" | "wasm" | "cpu";

export interface InitTfjsOptions {
  /**
   * The backend to use. Default: the `FEDBRIDGE_TFJS_BACKEND` environment variable, else
   * "auto" (`tensorflow` if `@tensorflow/tfjs-node` loads, else `wasm`).
   */
  backend?: TfjsBackendName | "auto";
}

const TFJS_NODE = "@tensorflow/tfjs-node";

let chosen: { requested: TfjsBackendName | "auto"; ready: Promise<Tfjs> } | undefined;

/**
 * Picks and initialises the TensorFlow.js backend once per thread, and returns `tf`.
 * Later calls return the same promise; asking a later call for another backend is an error.
 * Each worker thread has its own tfjs, so each calls this once.
 *
 * Different backends round differently: nodes that must reach bit-identical models must use
 * the same backend (set `FEDBRIDGE_TFJS_BACKEND=wasm` to keep tfjs-node out of the way).
 *
 * @example
 * const tf = await initTfjs();
 * tf.getBackend(); // "wasm", or "tensorflow" where @tensorflow/tfjs-node is installed
 */
export function initTfjs(options: InitTfjsOptions = {}): Promise<Tfjs> {
  const requested = options.backend ?? backendFromEnv() ?? "auto";
  if (chosen === undefined) chosen = { requested, ready: select(requested) };
  if (requested === "auto" || requested === chosen.requested) return chosen.ready;
  return chosen.ready.then((tf) => {
    if (tf.getBackend() === requested) return tf;
    throw new Error(
      `tfjs was already initialised for backend "${tf.getBackend()}", not "${requested}"`,
    );
  });
}

async function select(requested: TfjsBackendName | "auto"): Promise<Tfjs> {
  silenceCpuBackendTip();
  if (requested === "auto" || requested === "tensorflow") {
    const problem = await loadTfjsNode();
    if (problem === undefined) return tf;
    if (requested === "tensorflow") throw new Error(`cannot use ${TFJS_NODE}: ${problem}`);
    if (problem !== "not installed") console.warn(`${TFJS_NODE} unusable (${problem}); using wasm`);
  }
  if (requested === "cpu") {
    await tf.setBackend("cpu");
    return tf;
  }
  // The wasm binaries sit beside the package's entry point; resolving it from here works in
  // the main thread, in worker threads and under vitest alike, whatever the current directory.
  const entry = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  setWasmPaths(dirname(entry) + sep);
  registerWasmConv2DBackpropFilter();
  registerWasmTransposedMatMul();
  const started = await withoutNewProcessHandlers(() => tf.setBackend("wasm"));
  if (!started) throw new Error("the tfjs wasm backend failed to start");
  return tf;
}

/**
 * Runs `start` and then removes the "uncaughtException" and "unhandledRejection" listeners it
 * added. Emscripten's glue code adds two that rethrow every error from inside its minified
 * one-line source, so any crash of the app would print 100 kB of it; without them Node
 * reports errors itself, and still exits on them.
 */
async function withoutNewProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  const uncaught = process.listeners("uncaughtException");
  const rejection = process.listeners("unhandledRejection");
  try {
    return await start();
  } finally {
    for (const listener of process.listeners("uncaughtException")) {
      if (!uncaught.includes(listener)) process.removeListener("uncaughtException", listener);
    }
    for (const listener of process.listeners("unhandledRejection")) {
      if (!rejection.includes(listener)) process.removeListener("unhandledRejection", listener);
    }
  }
}

/** Loads tfjs-node if present; returns why it cannot be used, or undefined once it is active. */
async function loadTfjsNode(): Promise<string | undefined> {
  // libtensorflow's C++ start-up lines ("This TensorFlow binary is optimized ...") stay quiet.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
  try {
    const specifier: string = TFJS_NODE; // a variable: the package is optional, with no types here
    await import(specifier);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
    return missing && String(error).includes(TFJS_NODE) ? "not installed" : String(error);
  }
  // tfjs-node registers "tensorflow" in the tfjs it resolves; another copy of tfjs is no use.
  if (tf.findBackendFactory("tensorflow") === null) return "it loaded a different @tensorflow/tfjs";
  return (await tf.setBackend("tensorflow")) ? undefined : "its backend failed to start";
}

function backendFromEnv(): TfjsBackendName | "auto" | undefined {
  const value = process.env.FEDBRIDGE_TFJS_BACKEND;
  if (value === undefined || value === "") return undefined;
  if (value === "auto" || value === "tensorflow" || value === "wasm" || value === "cpu") {
    return value;
  }
  throw new Error(`FEDBRIDGE_TFJS_BACKEND must be auto, tensorflow, wasm or cpu, not "${value}"`);
}

/**
 * The cpu backend greets its first tensor in Node with a multi-line "Hi, looks like you are
 * running TensorFlow.js in Node.js" tip about tfjs-node. Mark it as already shown; every other
 * warning stays on.
 */
function silenceCpuBackendTip(): void {
  const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (cpu !== null && "firstUse" in cpu) cpu.firstUse = false;
}
