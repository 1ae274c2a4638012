import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "./sqlite-store.ts";

const SCHEMA = "CREATE TABLE IF NOT EXISTS t (n INTEGER)";
const TRANSACTIONS = 4;

/**
 * A thread that opens each new store in step with the others (all wait at a barrier before each
 * open), then makes transactions that read before they write (the count, then a row): what job
 * processes starting together do. It says "ok" or its first error.
 */
const THREAD = `
const { workerData, parentPort } = require("node:worker_threads");
(async () => {
  await import(workerData.register);
  const { openSqliteStore, writeTransaction } = await import(workerData.module);
  const arrived = new Int32Array(workerData.arrived);
  let said = "ok";
  for (const [i, path] of workerData.paths.entries()) {
    const all = workerData.threads * (i + 1);
    if (Atomics.add(arrived, 0, 1) + 1 === all) Atomics.notify(arrived, 0);
    for (let seen; (seen = Atomics.load(arrived, 0)) < all; ) Atomics.wait(arrived, 0, seen);
    try {
      const db = openSqliteStore(path, { what: "test store", schema: workerData.schema, version: 1 });
      for (let t = 0; t < workerData.transactions; t++)
        writeTransaction(db, () => {
          const { n } = db.prepare("SELECT COUNT(*) AS n FROM t").get();
          db.prepare("INSERT INTO t VALUES (?)").run(n);
        });
      db.close();
    } catch (error) {
      // Keeps going, so the others are not left waiting at the barrier.
      if (said === "ok") said = String(error.message);
    }
  }
  parentPort.postMessage(said);
})();
`;

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/** `threads` threads open each of `paths`, a new store, at the same moment; what each said. */
async function openTogether(paths: string[], threads: number): Promise<string[]> {
  const workerData = {
    register: pathToFileURL(join(process.cwd(), "bin/register.mjs")).href,
    module: new URL("./sqlite-store.ts", import.meta.url).href,
    paths,
    schema: SCHEMA,
    transactions: TRANSACTIONS,
    arrived: new SharedArrayBuffer(4),
    threads,
  };
  const workers = Array.from(
    { length: threads },
    () => new Worker(THREAD, { eval: true, workerData }),
  );
  return Promise.all(
    workers.map(
      (worker) =>
        new Promise<string>((resolve, reject) => {
          worker.once("message", (said: string) => resolve(said));
          worker.once("error", reject);
        }),
    ),
  );
}

describe("openSqliteStore", () => {
  it("lets processes open one new store together and write in turn, none told 'database is locked'", async () => {
    const folder = await mkdtemp(join(tmpdir(), "sqlite-store-"));
    folders.push(folder);
    const threads = 5;
    const paths = Array.from({ length: 100 }, (_, i) => join(folder, `store-${i}.db`));
    // Without BEGIN IMMEDIATE, about one open in six failed (it read, then could not write).
    // Without trying the switch to WAL again, about one open in thirty failed.
    expect(await openTogether(paths, threads)).toEqual(Array(threads).fill("ok"));
    for (const path of paths) {
      const db = openSqliteStore(path, { what: "test store", schema: SCHEMA, version: 1 });
      const rows = db.prepare("SELECT n FROM t ORDER BY n").all() as { n: number }[];
      db.close();
      // Each transaction saw every earlier commit: the counts are 0, 1, 2, ..., each once.
      const expected = Array.from({ length: threads * TRANSACTIONS }, (_, i) => i);
      expect(rows.map((row) => row.n)).toEqual(expected);
    }
  }, 120_000);
});
