import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { createRng } from "../src/core/numeric/random.ts";
import { hasWasmSimd, weightedSumFloat32 } from "../src/core/numeric/weighted-sum.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`FedAvg kernel browser test skipped: ${CHROMIUM} is missing`);

const KERNEL = fileURLToPath(new URL("../src/core/numeric/weighted-sum.ts", import.meta.url));

describe.skipIf(!hasChromium)("the float32 FedAvg kernel in Chromium", () => {
  it("gives the same bits as in Node, with WebAssembly SIMD and with the JS fallback", async () => {
    // Sizes around the kernel's blocks and groups; values of all magnitudes, signed zeros.
    const rng = createRng(7, "fedavg-kernel-browser");
    const cases = [1, 1023, 4097, 70_001].map((length, c) => {
      const count = 2 + c * 3;
      const inputs = Array.from({ length: count }, () =>
        Float32Array.from({ length }, (_, j) =>
          j % 97 === 0 ? -0 : rng.normal() * 10 ** Math.floor(rng.next() * 8 - 4),
        ),
      );
      const weights = Array.from({ length: count }, () => rng.next() * 300);
      return { inputs, weights };
    });
    const expected = cases.map(({ inputs, weights }) => [
      ...new Uint32Array(weightedSumFloat32(inputs, weights).buffer),
    ]);
    expect(hasWasmSimd()).toBe(true);

    const { outputFiles } = await build({
      stdin: {
        contents: `import * as k from ${JSON.stringify(KERNEL)}; globalThis.kernel = k;`,
        resolveDir: ".",
        loader: "ts",
      },
      bundle: true,
      write: false,
      platform: "browser",
      format: "iife",
      logLevel: "silent",
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await browser.newPage();
      await page.addScriptTag({ content: outputFiles[0]?.text ?? "" });
      const input = cases.map(({ inputs, weights }) => ({
        inputs: inputs.map((a) => [...new Uint32Array(a.buffer)]), // bits: JSON loses -0
        weights,
      }));
      // Page-side code as a string: this project type-checks without the DOM lib.
      const got = (await page.evaluate(
        `(${String((all: { inputs: number[][]; weights: number[] }[]) => {
          const k = (
            globalThis as unknown as {
              kernel: typeof import("../src/core/numeric/weighted-sum.ts");
            }
          ).kernel;
          const bits = (f: Float32Array) => [...new Uint32Array(f.buffer)];
          const floats = (b: number[]) => new Float32Array(Uint32Array.from(b).buffer);
          return {
            simd: k.hasWasmSimd(),
            wasm: all.map(({ inputs, weights }) =>
              bits(k.weightedSumFloat32(inputs.map(floats), weights)),
            ),
            js: all.map(({ inputs, weights }) =>
              bits(k.weightedSumFloat32Js(inputs.map(floats), weights)),
            ),
          };
        })})(${JSON.stringify(input)})`,
      )) as { simd: boolean; wasm: number[][]; js: number[][] };
      expect(got.simd).toBe(true);
      for (const [i, bits] of expected.entries()) {
        expect(got.wasm[i]).toEqual(bits);
        expect(got.js[i]).toEqual(bits);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
