import { appendFile, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/fedbridge-error.ts";
import { AuditLog, MAX_ARGS_CHARS, readAuditLog } from "./audit-log.ts";

const who = { name: "bob@org-b.com", org: "org-b", role: "member" };

describe("audit log", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "audit-log-"));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("appends one JSON line per command and reads them back", async () => {
    const path = join(tmp, "logs", "audit.jsonl");
    const now = () => new Date(Date.UTC(2025, 4, 1, 12, 0, 0));
    const log = new AuditLog(path, { now });
    const written = [
      log.record({
        who,
        command: "abort",
        args: "job-1",
        outcome: "denied",
        reason: "needs n:submitter",
      }),
      log.record({ who, command: "list", args: "", outcome: "ok" }),
    ];
    // Closed while their fsyncs are under way: the file stays open until they are done.
    log.close();
    expect((await Promise.all(written)).map((entry) => entry.command)).toEqual(["abort", "list"]);
    // Reopened, it appends after what is there.
    const again = new AuditLog(path, { now });
    again.record({
      who,
      command: "status",
      args: "job-1\nINJECTED",
      outcome: "error",
      reason: "no job",
    });
    again.close();

    const text = await readFile(path, "utf8");
    expect(text.split("\n")).toHaveLength(4); // three lines and the final newline
    const entries = await readAuditLog(path);
    expect(entries).toEqual([
      {
        time: "2025-05-01T12:00:00.000Z",
        who,
        command: "abort",
        args: "job-1",
        outcome: "denied",
        reason: "needs n:submitter",
      },
      { time: "2025-05-01T12:00:00.000Z", who, command: "list", args: "", outcome: "ok" },
      {
        time: "2025-05-01T12:00:00.000Z",
        who,
        command: "status",
        args: "job-1\nINJECTED",
        outcome: "error",
        reason: "no job",
      },
    ]);
    expect((await stat(path)).mode & 0o007).toBe(0); // not for everyone to read
  });

  it("cuts long argument summaries and refuses writes after close", async () => {
    const log = new AuditLog(join(tmp, "long.jsonl"));
    const entry = await log.record({
      who,
      command: "submit",
      args: "x".repeat(2000),
      outcome: "allowed",
    });
    expect(entry.args).toHaveLength(MAX_ARGS_CHARS + 1);
    log.close();
    expect(() => log.record({ who, command: "list", args: "", outcome: "ok" })).toThrow(/closed/);
  });

  it("skips a torn last line and names a corrupt one", async () => {
    const path = join(tmp, "torn.jsonl");
    const log = new AuditLog(path);
    log.record({ who, command: "list", args: "", outcome: "ok" });
    log.close();
    await appendFile(path, '{"time":"2025-');
    expect((await readAuditLog(path)).map((e) => e.command)).toEqual(["list"]);
    await appendFile(path, "\n");
    await expect(readAuditLog(path)).rejects.toMatchObject({
      code: Code.DataLoss,
      message: `${path} line 2 is not an audit entry`,
    });
    expect(await readAuditLog(join(tmp, "missing.jsonl"))).toEqual([]);
  });
});
