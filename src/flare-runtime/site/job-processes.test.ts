import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createLogger } from "../../core/logger.ts";
import { BUILTIN_RUNNERS } from "../job-process/runner-registry.ts";
import { JobProcesses } from "./job-processes.ts";
import type { SiteKit } from "./read-site-kit.ts";
import type { DeployedJob } from "./site-jobs.ts";

// A site's job processes with the `sum` runner: a site part that answers `add` requests.

/** The site's log lines, and a way to wait for one. */
function siteLog() {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const log = createLogger({
    name: "site-1",
    format: "json",
    stdout: {
      write(line) {
        lines.push(JSON.parse(line).msg);
        for (const waiter of waiters) waiter();
      },
    },
  });
  /** Resolves with the match of the `nth` line (1-based) that matches `pattern`. */
  const waitFor = (pattern: RegExp, nth = 1) =>
    new Promise<RegExpMatchArray>((resolve) => {
      const check = () => {
        const match = lines.map((line) => line.match(pattern)).filter((m) => m !== null)[nth - 1];
        if (match) {
          waiters.delete(check);
          resolve(match);
        }
      };
      waiters.add(check);
      check();
    });
  return { log, lines, waitFor };
}

let jobs: JobProcesses | undefined;
afterEach(() => jobs?.close());

async function startSumJob() {
  const workspace = await mkdtemp(join(tmpdir(), "fedbridge-site-jobs-"));
  const { log, lines, waitFor } = siteLog();
  const kit = {
    config: { name: "site-1" },
    privacy: { formatVersion: 1, scopes: {}, defaultScope: "" },
    nodeConfig: {},
  } as unknown as SiteKit;
  jobs = new JobProcesses({ kit, workspace, runners: BUILTIN_RUNNERS, log, cell: () => undefined });
  const jobId = randomUUID();
  await jobs.start({
    deployment: { jobId, config: {}, sites: ["site-1"] },
    checked: { files: new Map(), meta: { app: "sum" } },
  } as unknown as DeployedJob);
  const pid = async (nth: number) => Number((await waitFor(/process (\d+) started/, nth))[1]);
  const started = () => lines.filter((line) => /process \d+ started/.test(line)).length;
  return { jobs, jobId, pid, started, waitFor };
}

describe("a site's job processes", () => {
  it("starts a process that died after it answered again at once, and it answers the next request", async () => {
    const { jobs, jobId, pid } = await startSumJob();
    expect(await jobs.request(jobId, "add", { value: 2, position: 3 })).toBe(6);
    process.kill(await pid(1), "SIGKILL");
    // No request comes: the new process is started because the old one died.
    const again = await pid(2);
    expect(again).not.toBe(await pid(1));
    expect(await jobs.request(jobId, "add", { value: 1, position: 4 })).toBe(4);
  });

  it("starts a process that died before it ever answered again only for the next request", async () => {
    const { jobs, jobId, pid, started, waitFor } = await startSumJob();
    process.kill(await pid(1), "SIGKILL");
    await waitFor(/process ended: .*killed by SIGKILL/);
    // Whether to start it again is decided as its end is logged: it was not.
    expect(started()).toBe(1);
    expect(await jobs.request(jobId, "add", { value: 1, position: 5 })).toBe(5);
    expect(started()).toBe(2);
  });

  it("does not start a stopped job's process again", async () => {
    const { jobs, jobId, started, waitFor } = await startSumJob();
    await jobs.request(jobId, "add", { value: 1, position: 1 });
    await jobs.stop(jobId);
    await waitFor(/process ended/);
    expect(started()).toBe(1);
    expect(jobs.has(jobId)).toBe(false);
  });
});

/** `bytes` in pieces of `size`, failing with `error` after `failAfter` pieces if given. */
async function* inPieces(bytes: Uint8Array, size: number, failAfter?: number, error?: Error) {
  for (let at = 0, n = 0; at < bytes.byteLength; at += size, n++) {
    if (n === failAfter) throw error;
    yield bytes.subarray(at, at + size);
  }
}

function body(bytes: Uint8Array, size: number | undefined, failAfter?: number, error?: Error) {
  return { size, chunks: inPieces(bytes, 300_001, failAfter, error) };
}

const inverted = (bytes: Uint8Array) => Buffer.from(bytes.map((byte) => 255 - byte));

async function resultOf(result: Uint8Array | AsyncIterable<Uint8Array>): Promise<Buffer> {
  if (result instanceof Uint8Array) return Buffer.from(result);
  const pieces: Uint8Array[] = [];
  for await (const piece of result) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe("a site's tasks and their results", () => {
  const signal = new AbortController().signal;
  const bytes = randomBytes(5 * 2 ** 20 + 17);

  it("carries a task's bytes to its process and its result back, with or without their size", async () => {
    const { jobs, jobId } = await startSumJob();
    for (const size of [bytes.byteLength, undefined]) {
      const result = await jobs.task(jobId, "invert", body(bytes, size), signal);
      expect((await resultOf(result)).equals(inverted(bytes))).toBe(true);
    }
  });

  it("fails a task whose bytes fail on the way, or are not as many as said, and does the next", async () => {
    const { jobs, jobId } = await startSumJob();
    const lost = new FedbridgeError(Code.Unavailable, "the server went away");
    await expect(
      jobs.task(jobId, "invert", body(bytes, bytes.byteLength, 3, lost), signal),
    ).rejects.toThrow("the server went away");
    await expect(
      jobs.task(jobId, "invert", body(bytes, bytes.byteLength + 1), signal),
    ).rejects.toThrow(`payload of ${bytes.byteLength} bytes, size said ${bytes.byteLength + 1}`);
    await expect(jobs.task(jobId, "invert", body(bytes, 10), signal)).rejects.toThrow(
      "payload longer than its size 10",
    );
    await expect(
      jobs.task(jobId, "unknown", body(bytes, bytes.byteLength), signal),
    ).rejects.toThrow("unknown task unknown");
    const result = await jobs.task(jobId, "invert", body(bytes, bytes.byteLength), signal);
    expect((await resultOf(result)).equals(inverted(bytes))).toBe(true);
  });

  it("answers a keyed task sent again with the result it kept, without reading its bytes", async () => {
    const { jobs, jobId, waitFor } = await startSumJob();
    const first = await jobs.task(jobId, "invert", body(bytes, bytes.byteLength), signal, {
      key: "k1",
    });
    expect((await resultOf(first)).equals(inverted(bytes))).toBe(true);
    const other = randomBytes(1000);
    let read = 0;
    const again = await jobs.task(
      jobId,
      "invert",
      {
        size: other.byteLength,
        chunks: (async function* () {
          read++;
          yield other;
        })(),
      },
      signal,
      { key: "k1" },
    );
    expect((await resultOf(again)).equals(inverted(bytes))).toBe(true);
    expect(read).toBe(0);
    await waitFor(/came again/);
  });
});
