import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEPT_RESULTS, KeptResults } from "./kept-results.ts";

/** A task's run: writes `text` to a fresh result file, as a job's process does. */
async function resultFile(dir: string, text: string): Promise<string> {
  const file = join(dir, `${text}-${Math.random()}.result`);
  await writeFile(file, text);
  return file;
}

async function setUp() {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-kept-"));
  const runs: string[] = [];
  const agains: string[] = [];
  const kept = new KeptResults(join(dir, "kept"));
  /** The task under `key`, whose run writes `text`; resolves with the result's text. */
  const task = async (key: string, text = key) => {
    const file = await kept.once(
      key,
      async () => {
        runs.push(key);
        return resultFile(dir, text);
      },
      () => agains.push(key),
    );
    return readFile(file, "utf8");
  };
  return { dir, kept, runs, agains, task };
}

describe("a site's kept results", () => {
  it("answers a task sent again under its key with the result it had, without running it again", async () => {
    const { runs, agains, task } = await setUp();
    expect(await task("a", "first")).toBe("first");
    expect(await task("a", "second")).toBe("first");
    expect(runs).toEqual(["a"]);
    expect(agains).toEqual(["a"]);
  });

  it("makes a task sent again while its first run goes on wait for that run", async () => {
    const { kept, dir, runs } = await setUp();
    let finish: (file: string) => void = () => {};
    const first = kept.once(
      "k",
      () => {
        runs.push("k");
        return new Promise<string>((resolve) => (finish = resolve));
      },
      () => {},
    );
    const second = kept.once(
      "k",
      () => Promise.reject(new Error("run twice")),
      () => {},
    );
    finish(await resultFile(dir, "late"));
    expect(await readFile(await second, "utf8")).toBe("late");
    expect(await first).toBe(await second);
    expect(runs).toEqual(["k"]);
  });

  it("runs a task whose first run failed again", async () => {
    const { kept, task, runs } = await setUp();
    await expect(
      kept.once(
        "f",
        () => Promise.reject(new Error("the ClientApp crashed")),
        () => {},
      ),
    ).rejects.toThrow("crashed");
    expect(await task("f", "now")).toBe("now");
    expect(runs).toEqual(["f"]);
  });

  it(`keeps the results of the ${KEPT_RESULTS} most recent keys, and removes the older files`, async () => {
    const { kept, runs, task } = await setUp();
    const first = await kept.once(
      "k0",
      async () => resultFile(await mkdtemp(join(tmpdir(), "r-")), "0"),
      () => {},
    );
    for (let i = 1; i <= KEPT_RESULTS; i++) await task(`k${i}`);
    await expect.poll(() => existsSync(first)).toBe(false);
    expect(await task("k0", "again")).toBe("again");
    expect(await task(`k${KEPT_RESULTS}`, "not again")).toBe(`k${KEPT_RESULTS}`);
    expect(runs).toEqual([...Array.from({ length: KEPT_RESULTS }, (_, i) => `k${i + 1}`), "k0"]);
  });

  it("finds its files again after the site restarted, and removes them when the job ends", async () => {
    const { dir, kept, task } = await setUp();
    await task("a", "before the restart");
    const restarted = new KeptResults(join(dir, "kept"));
    const file = await restarted.once(
      "a",
      () => Promise.reject(new Error("run twice")),
      () => {},
    );
    expect(await readFile(file, "utf8")).toBe("before the restart");
    await kept.clear();
    expect(existsSync(join(dir, "kept"))).toBe(false);
  });
});
