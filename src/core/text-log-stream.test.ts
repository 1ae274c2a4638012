import { describe, expect, it } from "vitest";
import { createTextLogStream, formatLogRecord } from "./text-log-stream.ts";

const TIME = Date.parse("2026-12-04T19:20:01.123Z");

/** A destination that keeps what is written. */
function collect() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe("formatLogRecord", () => {
  it("writes time, level, name, message, then the other fields as key=value", () => {
    const line = formatLogRecord({
      level: 30,
      time: TIME,
      name: "server1",
      msg: "job 1234 RUNNING",
      job: "1234",
      round: 2,
      ok: true,
    });
    expect(line).toBe(
      "2026-12-04T19:20:01.123Z INFO  server1: job 1234 RUNNING  job=1234 round=2 ok=true",
    );
  });

  it("quotes values that would not read as one token, and shows an error by its message", () => {
    const line = formatLogRecord({
      level: 40,
      time: TIME,
      name: "site-1",
      msg: "refused",
      reason: "bad cert",
      peer: { cn: "x" },
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at ..." },
    });
    expect(line).toBe(
      '2026-12-04T19:20:01.123Z WARN  site-1: refused  reason="bad cert" peer={"cn":"x"} err="boom"',
    );
  });

  it("leaves out pid, hostname and the hidden base fields", () => {
    const record = { level: 50, time: TIME, name: "site-1", site: "site-1", pid: 7, msg: "x" };
    expect(formatLogRecord({ ...record, hostname: "h" }, ["site"])).toBe(
      "2026-12-04T19:20:01.123Z ERROR site-1: x",
    );
  });

  it("gives each line of a message its own prefix and fields", () => {
    const line = formatLogRecord({ level: 30, time: TIME, name: "s", msg: "a\nb", job: "j" });
    expect(line.split("\n")).toEqual([
      "2026-12-04T19:20:01.123Z INFO  s: a  job=j",
      "2026-12-04T19:20:01.123Z INFO  s: b  job=j",
    ]);
  });
});

describe("createTextLogStream", () => {
  it("turns JSON lines into text lines and passes anything else through", () => {
    const out = collect();
    const stream = createTextLogStream(out);
    stream.write(`${JSON.stringify({ level: 30, time: TIME, name: "n", msg: "hi" })}\n`);
    stream.write("not json\n");
    expect(out.lines).toEqual(["2026-12-04T19:20:01.123Z INFO  n: hi\n", "not json\n"]);
  });
});
