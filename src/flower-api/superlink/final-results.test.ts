import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTask } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { collectGarbage } from "../../core/collect-garbage.ts";
import { type RunEvent, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { arrayRecordToProto } from "../records/serde.ts";
import { FinalResults } from "./final-results.ts";

/** A runFinished event with a final model of `floats` float32 values (i % 977). */
function finished(floats: number): RunEvent {
  const values = Float32Array.from({ length: floats }, (_, i) => i % 977);
  const arrays = ArrayRecord.fromTypedArrays([
    { values, shape: [floats] },
    { values: new Float32Array([1, 2, 3]), shape: [3] },
  ]);
  return create(RunEventSchema, {
    event: {
      case: "runFinished",
      value: { status: "completed", result: { arrays: arrayRecordToProto(arrays) } },
    },
  });
}

const digest = (event: RunEvent) => {
  const hash = createHash("sha256");
  if (event.event.case === "runFinished")
    for (const item of event.event.value.result?.arrays?.items ?? [])
      hash
        .update(`${item.key}|${item.value?.dtype}|${item.value?.shape}|`)
        .update(item.value?.data ?? "");
  return hash.digest("hex");
};

describe("FinalResults", () => {
  const made: string[] = [];
  /** A folder for the files that does not exist yet, in a fresh temporary folder. */
  const newFolder = async () => {
    const dir = await mkdtemp(join(tmpdir(), "final-results-"));
    made.push(dir);
    return join(dir, "final-models");
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("keeps a small final model in memory, as it is", async () => {
    const event = finished(1000);
    expect(new FinalResults(await newFolder()).setAside(1n, event)).toBe(event);
  });

  it("sets a large one aside (names, dtypes, shapes kept) and gives it back whole from its file", async () => {
    const folder = await newFolder();
    const finals = new FinalResults(folder);
    // Made in a function of its own, so nothing but the file holds the model afterwards.
    const { kept, expected } = (() => {
      const event = finished(2 ** 20);
      return { kept: finals.setAside(7n, event), expected: digest(event) };
    })();
    const items = kept.event.case === "runFinished" ? kept.event.value.result?.arrays?.items : [];
    expect(
      items?.map((item) => [
        item.key,
        item.value?.dtype,
        item.value?.shape,
        item.value?.data.byteLength,
      ]),
    ).toEqual([
      ["0", "float32", [2 ** 20], 0],
      ["1", "float32", [3], 0],
    ]);
    // Given back at once while still held (its file may still be being written).
    expect((await finals.whole(7n, kept)).event.case).toBe("runFinished");
    await finals.written();
    await nextTask();
    collectGarbage();
    expect(digest(await finals.whole(7n, kept))).toBe(expected);
    expect(await readdir(folder)).toEqual(["run-7"]);
    await finals.close();
    await expect(readdir(folder)).rejects.toThrow(/ENOENT/);
    await expect(finals.whole(7n, kept)).rejects.toThrow(/ENOENT/);
  });

  it("gives other events, and other runs' events, as they are", async () => {
    const finals = new FinalResults(await newFolder());
    finals.setAside(1n, finished(2 ** 20));
    const log = create(RunEventSchema, { event: { case: "log", value: "hello" } });
    expect(await finals.whole(1n, log)).toBe(log);
    const other = finished(10);
    expect(await finals.whole(2n, other)).toBe(other);
    await finals.close();
  });

  it("keeps a model in memory when its file cannot be written, and says so", async () => {
    const folder = await newFolder();
    await writeFile(folder, "not a folder");
    const lines: string[] = [];
    const finals = new FinalResults(folder, (line) => lines.push(line));
    const { kept, expected } = (() => {
      const event = finished(2 ** 20);
      return { kept: finals.setAside(3n, event), expected: digest(event) };
    })();
    await finals.written();
    await nextTask();
    collectGarbage();
    expect(digest(await finals.whole(3n, kept))).toBe(expected);
    expect(lines.join("\n")).toMatch(/run 3: its final model is kept in memory/);
  });

  it("leaves nothing behind when closed while it writes", async () => {
    const folder = await newFolder();
    const finals = new FinalResults(folder);
    finals.setAside(4n, finished(2 ** 20));
    await finals.close();
    await expect(readdir(folder)).rejects.toThrow(/ENOENT/);
  });
});
