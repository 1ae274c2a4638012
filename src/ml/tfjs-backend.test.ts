import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { initTfjs } from "./tfjs-backend.ts";

describe("initTfjs", () => {
  it("starts wasm once, with the kernels training needs, and keeps its answer", async () => {
    const listeners = process.listenerCount("uncaughtException");
    const first = initTfjs({ backend: "wasm" });
    expect(initTfjs()).toBe(first);
    const tf = await first;
    expect(tf.getBackend()).toBe("wasm");
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
    // Emscripten's rethrowing process handlers are gone again.
    expect(process.listenerCount("uncaughtException")).toBe(listeners);
    await expect(initTfjs({ backend: "cpu" })).rejects.toThrow(/already initialised/);
  });

  it("works in a worker thread, where the wasm files are found the same way", async () => {
    // The worker loads TypeScript through the repository's tsx hook (bin/register.mjs, as
    // fedbridge's own workers do), then computes a conv layer's filter gradient there.
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.register)
        .then(() => import(workerData.module))
        .then(async ({ initTfjs }) => {
          const tf = await initTfjs();
          const x = tf.ones([1, 4, 4, 1]);
          const dw = tf.grad((f) => tf.conv2d(x, f, 1, "same").sum())(tf.ones([3, 3, 1, 1]));
          parentPort.postMessage({ backend: tf.getBackend(), dw: Array.from(dw.dataSync()) });
        });`;
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        register: new URL("../../bin/register.mjs", import.meta.url).href,
        module: new URL("./tfjs-backend.ts", import.meta.url).href,
      },
    });
    const reply = await new Promise<{ backend: string; dw: number[] }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    expect(reply.backend).toBe("wasm");
    // d(sum of a 'same' 3x3 conv of ones over a 4x4 image)/d(filter tap): how often it sees the image.
    expect(reply.dw).toEqual([9, 12, 9, 12, 16, 12, 9, 12, 9]);
  });
});
