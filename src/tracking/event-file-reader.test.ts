import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { readEventFile } from "./event-file-reader.ts";

const GOLDEN = new URL(
  "../../../shared/fixtures/tensorboard/torch-summarywriter.tfevents",
  import.meta.url,
);

describe("readEventFile on PyTorch's SummaryWriter output", () => {
  const bytes = new Uint8Array(readFileSync(GOLDEN));

  it("reads the 10 scalars with their tags, steps and float32 values, every CRC checked", () => {
    const contents = readEventFile(bytes);
    expect(contents.fileVersion).toBe("brain.Event:2");
    expect(contents.events).toHaveLength(11);
    expect(contents.scalars).toHaveLength(10);
    expect(contents.scalars.map((s) => [s.tag, s.step])).toEqual(
      [0, 1, 2, 3, 4].flatMap((step) => [
        ["train/loss", step],
        ["eval/accuracy", step],
      ]),
    );
    // The values PyTorch was given, as float32 (simple_value's type).
    const loss = contents.scalars.filter((s) => s.tag === "train/loss").map((s) => s.value);
    expect(loss).toEqual([1, 0.5, 1 / 3, 0.25, 0.2].map(Math.fround));
    const accuracy = contents.scalars.filter((s) => s.tag === "eval/accuracy").map((s) => s.value);
    expect(accuracy).toEqual([0.5, 0.6, 0.7, 0.8, 0.9].map(Math.fround));
    for (const s of contents.scalars) expect(s.wallTime).toBeGreaterThan(1.7e9);
    expect(contents.texts).toEqual([]);
    expect(contents.histograms).toEqual([]);
  });

  it("refuses the file with any one byte flipped, naming the damaged record", () => {
    // Flip one byte in each of a few records; each must fail, none may read as other numbers.
    for (const at of [5, 9, 40, 0x7f, 0x242]) {
      const damaged = bytes.slice();
      damaged[at] ^= 0x10;
      let error: unknown;
      try {
        readEventFile(damaged, { source: "golden" });
      } catch (e) {
        error = e;
      }
      expect(error, `byte ${at}`).toBeInstanceOf(FedbridgeError);
      expect((error as FedbridgeError).code).toBe(Code.DataLoss);
      expect((error as FedbridgeError).message).toMatch(/^golden: record at byte \d+: /);
    }
  });
});
