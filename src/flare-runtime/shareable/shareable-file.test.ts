import { mkdtemp, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIRECT_PIECE, writeWhole } from "../../core/direct-file.ts";
import { arrayRecord, recordDict, zerosFloat32 } from "./records.ts";
import { createShareable, DataKind } from "./shareable.ts";
import { encodeShareable } from "./shareable-codec.ts";
import { ShareableFile } from "./shareable-file.ts";

/** A result with a small array, then one of a few pieces (and a partial one) of floats. */
async function resultFile() {
  const small = zerosFloat32([3]);
  small.values.set([1, 2, 3]);
  const large = zerosFloat32([Math.floor(2.5 * (DIRECT_PIECE / 4)) + 7]);
  for (let i = 0; i < large.values.length; i++) large.values[i] = i % 1000;
  const shareable = createShareable(
    DataKind.WEIGHTS,
    recordDict({
      arrays: {
        model: arrayRecord([
          ["a", small.array],
          ["b", large.array],
        ]),
      },
    }),
  );
  const path = join(await mkdtemp(join(tmpdir(), "fedbridge-shareable-")), "result.fbs");
  await writeWhole(path, encodeShareable(shareable));
  return { path, arrays: [small.values, large.values] };
}

async function valuesOf(file: ShareableFile, i: number): Promise<Float32Array> {
  const array = file.arrays[i];
  if (array === undefined) throw new Error(`no array ${i}`);
  const values = new Float32Array(array.length);
  let at = 0;
  for await (const chunk of file.float32Chunks(array)) {
    values.set(chunk, at);
    at += chunk.length;
  }
  return values;
}

const bytesOf = (values: Float32Array | undefined) =>
  Buffer.from(values?.buffer ?? new ArrayBuffer(0), values?.byteOffset, values?.byteLength);

describe("a shareable on disk", () => {
  it("reads each float32 array in pieces, the same values as were written", async () => {
    const { path, arrays } = await resultFile();
    const file = await ShareableFile.open(path);
    try {
      expect(file.arrays.map((a) => a.entry.name)).toEqual(["a", "b"]);
      for (const i of [0, 1])
        expect(bytesOf(await valuesOf(file, i)).equals(bytesOf(arrays[i]))).toBe(true);
    } finally {
      await file.close();
    }
  });

  it("says that a file cut short ends early", async () => {
    const { path } = await resultFile();
    const file = await ShareableFile.open(path);
    try {
      await truncate(path, (file.arrays[1]?.offset ?? 0) + DIRECT_PIECE + 5);
      await expect(valuesOf(file, 1)).rejects.toThrow("a shareable file: it ends early");
    } finally {
      await file.close();
    }
  });
});
