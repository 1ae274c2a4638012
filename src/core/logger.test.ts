import { describe, expect, it } from "vitest";
import { createLogger, logFormatFromEnv, parseLogFormat } from "./logger.ts";

/** A destination that keeps what is written. */
function collect() {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

describe("createLogger", () => {
  it("writes text by default and pino's JSON on request, with the base fields in JSON only", () => {
    const text = collect();
    createLogger({ name: "site-1", base: { site: "site-1" }, format: "text", stdout: text }).info(
      { job: "7" },
      "job 7 process 42 started",
    );
    expect(text.lines[0]).toMatch(/^\S+Z INFO {2}site-1: job 7 process 42 started {2}job=7\n$/);

    const json = collect();
    createLogger({ name: "site-1", base: { site: "site-1" }, format: "json", stdout: json }).warn(
      "no SuperNode",
    );
    expect(JSON.parse(json.lines[0] ?? "")).toMatchObject({
      level: 40,
      name: "site-1",
      site: "site-1",
      msg: "no SuperNode",
    });
  });

  it("takes the default format from FEDBRIDGE_LOG_FORMAT and refuses unknown ones", () => {
    expect(logFormatFromEnv({})).toBe("text");
    expect(logFormatFromEnv({ FEDBRIDGE_LOG_FORMAT: "json" })).toBe("json");
    expect(() => logFormatFromEnv({ FEDBRIDGE_LOG_FORMAT: "xml" })).toThrow(
      "FEDBRIDGE_LOG_FORMAT must be text or json, not 'xml'",
    );
    expect(parseLogFormat("JSON")).toBe("json");
  });
});
