import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseJobMeta } from "./job-meta.ts";
import type { NewJob } from "./job-record.ts";
import { JOB_STATUSES } from "./job-status.ts";
import { JobStore } from "./job-store.ts";

const bundle = new TextEncoder().encode("zip bytes");
const sha256 = createHash("sha256").update(bundle).digest("hex");

function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    meta: parseJobMeta({ name: "sum-job", app: "sum", config: { x: 1 } }),
    bundle,
    bundleSha256: sha256,
    submitter: { name: "lead@org-a.com", org: "org-a", role: "lead" },
    submitterCertPem: "-----BEGIN CERTIFICATE-----\n...",
    signature: "MEUCIQ==",
    ...overrides,
  };
}

function failure(fn: () => unknown): FedbridgeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FedbridgeError);
    return error as FedbridgeError;
  }
  throw new Error("did not throw");
}

describe("job store", () => {
  let tmp: string;
  let tick = 0;
  const now = () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++));
  const open = (name: string): JobStore => new JobStore(join(tmp, name), { now });
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "job-store-"));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("creates, reads and lists jobs; bundles are kept once per hash", () => {
    const store = open("basic.db");
    const a = store.create(newJob());
    expect(a).toMatchObject({
      name: "sum-job",
      status: "SUBMITTED",
      bundleSha256: sha256,
      submitter: { name: "lead@org-a.com", org: "org-a", role: "lead" },
      submittedAt: "2025-01-01T00:00:00.000Z",
    });
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.startedAt).toBeUndefined();
    expect(store.get(a.id)).toEqual(a);
    expect(store.get("nope")).toBeUndefined();
    expect(Buffer.from(store.bundle(a.id)).toString()).toBe("zip bytes");

    const b = store.create(
      newJob({ id: "job-b", submitter: { name: "m", org: "org-b", role: "member" } }),
    );
    expect(b.id).toBe("job-b");
    expect(failure(() => store.create(newJob({ id: "job-b" }))).code).toBe(Code.AlreadyExists);
    const wrong = failure(() => store.create(newJob({ bundleSha256: "00".repeat(32) })));
    expect(wrong.code).toBe(Code.DataLoss);

    expect(store.list().map((j) => j.id)).toEqual([a.id, "job-b"]);
    expect(store.list({ submitterOrg: "org-b" }).map((j) => j.id)).toEqual(["job-b"]);
    expect(store.list({ limit: 1 }).map((j) => j.id)).toEqual(["job-b"]);
    store.setStatus(a.id, "RUNNING");
    expect(store.list({ status: "RUNNING" }).map((j) => j.id)).toEqual([a.id]);
    expect(store.jobsInStatus("SUBMITTED", "RUNNING")).toHaveLength(2);
    expect(store.list({ status: [] })).toEqual([]);
    store.close();
  });

  it("follows the legal status moves only", () => {
    const store = open("status.db");
    const job = store.create(newJob());
    const running = store.setStatus(job.id, "RUNNING");
    expect(running.startedAt).toBeDefined();
    const illegal = failure(() => store.setStatus(job.id, "SUBMITTED"));
    expect(illegal.code).toBe(Code.FailedPrecondition);
    expect(illegal.message).toBe(
      `job ${job.id} cannot go from RUNNING to SUBMITTED: from RUNNING a job can only become FINISHED:COMPLETED, FINISHED:ABORTED, FINISHED:FAILED`,
    );
    const done = store.setStatus(job.id, "FINISHED:COMPLETED", { result: { sum: 6 } });
    expect(done).toMatchObject({ status: "FINISHED:COMPLETED", result: { sum: 6 } });
    expect(done.finishedAt).toBeDefined();
    for (const status of JOB_STATUSES) {
      const error = failure(() => store.setStatus(job.id, status));
      expect(error.message).toMatch(/a finished job is final/);
    }
    expect(failure(() => store.setResult(job.id, 1)).code).toBe(Code.FailedPrecondition);

    const waiting = store.create(newJob());
    expect(failure(() => store.setStatus(waiting.id, "FINISHED:COMPLETED")).code).toBe(
      Code.FailedPrecondition,
    );
    const given = store.setStatus(waiting.id, "FINISHED:CAN_NOT_SCHEDULE", {
      reason: "site-2 is offline",
    });
    expect(given).toMatchObject({ reason: "site-2 is offline" });
    expect(given.startedAt).toBeUndefined();
    expect(failure(() => store.setStatus("nope", "RUNNING")).code).toBe(Code.NotFound);
    store.close();
  });

  it("records rounds and keeps the newest checkpoints", () => {
    const store = new JobStore(join(tmp, "rounds.db"), { keepCheckpoints: 2 });
    const job = store.create(newJob());
    expect(failure(() => store.recordRound(job.id, 1)).message).toMatch(
      /it is SUBMITTED, not RUNNING/,
    );
    store.setStatus(job.id, "RUNNING");
    store.recordRound(job.id, 1);
    store.setResult(job.id, { partial: [1, 2] });
    expect(store.get(job.id)).toMatchObject({ lastRound: 1, result: { partial: [1, 2] } });
    expect(failure(() => store.recordRound(job.id, -1)).code).toBe(Code.InvalidArgument);
    expect(store.latestCheckpoint(job.id)).toBeUndefined();
    for (const round of [1, 2, 3]) store.saveCheckpoint(job.id, round, new Uint8Array([round]));
    expect(store.latestCheckpoint(job.id)).toMatchObject({ round: 3, state: new Uint8Array([3]) });
    expect(store.get(job.id)?.lastRound).toBe(3);
    // After a resume from round 2, round 3 is saved again: the newest wins.
    store.saveCheckpoint(job.id, 3, new Uint8Array([33]));
    expect(store.latestCheckpoint(job.id)?.state).toEqual(new Uint8Array([33]));
    store.setStatus(job.id, "FINISHED:ABORTED", { reason: "aborted by lead@org-a.com" });
    expect(failure(() => store.saveCheckpoint(job.id, 4, new Uint8Array())).code).toBe(
      Code.FailedPrecondition,
    );
    store.close();
  });

  it("survives a reopen and refuses a newer schema", () => {
    const path = join(tmp, "reopen.db");
    const store = new JobStore(path);
    const job = store.create(newJob());
    store.close();
    const again = new JobStore(path);
    expect(again.get(job.id)?.status).toBe("SUBMITTED");
    again.close();
    const raw = new Database(path);
    raw.pragma("user_version = 99");
    raw.close();
    const newer = failure(() => new JobStore(path));
    expect(newer.code).toBe(Code.FailedPrecondition);
    expect(newer.message).toMatch(/schema version 99, newer than this fedbridge's 1/);
  });

  it("keeps committed rows when the process writing them is SIGKILLed", async () => {
    const path = join(tmp, "killed.db");
    const moduleUrl = pathToFileURL(join(import.meta.dirname, "job-store.ts")).href;
    const meta = JSON.stringify(newJob().meta);
    // The child commits three jobs, moves one to RUNNING with a checkpoint, then leaves a
    // transaction open (never committed) and says so; it is killed mid-transaction.
    const script = `
      import { JobStore } from ${JSON.stringify(moduleUrl)};
      const store = new JobStore(${JSON.stringify(path)});
      const bundle = new TextEncoder().encode("zip bytes");
      const job = (id) => store.create({ id, meta: ${meta}, bundle, bundleSha256: ${JSON.stringify(sha256)},
        submitter: { name: "a", org: "o", role: "lead" }, submitterCertPem: "pem", signature: "sig" });
      for (const id of ["k1", "k2", "k3"]) job(id);
      store.setStatus("k2", "RUNNING");
      store.saveCheckpoint("k2", 4, new Uint8Array([1, 2, 3]));
      const Database = (await import("better-sqlite3")).default;
      const raw = new Database(${JSON.stringify(path)});
      raw.exec("BEGIN IMMEDIATE");
      raw.prepare("UPDATE jobs SET status = 'FINISHED:FAILED' WHERE id = 'k1'").run();
      process.stdout.write("ready\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const store = new JobStore(path);
    expect(store.list().map((j) => [j.id, j.status])).toEqual([
      ["k1", "SUBMITTED"],
      ["k2", "RUNNING"],
      ["k3", "SUBMITTED"],
    ]);
    expect(store.get("k2")?.lastRound).toBe(4);
    expect(store.latestCheckpoint("k2")?.state).toEqual(new Uint8Array([1, 2, 3]));
    expect(store.jobsInStatus("RUNNING").map((j) => j.id)).toEqual(["k2"]);
    store.close();
  });
});
