import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

  it("lets a process with a log file exit at once, keeping what it logged", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "fedbridge-log-")), "server.log");
    const exitAtOnce = `
      const { createLogger } = await import(process.env.LOGGER);
      createLogger({ name: "server1", file: process.env.LOG_FILE }).error("port in use");
      process.exit(1);
    `;
    const child = promisify(execFile)(
      process.execPath,
      [
        "--import",
        new URL("../../bin/register.mjs", import.meta.url).href,
        "--input-type=module",
        "--eval",
        exitAtOnce,
      ],
      {
        env: {
          ...process.env,
          LOGGER: new URL("./logger.ts", import.meta.url).href,
          LOG_FILE: file,
        },
      },
    );
    const failed = await child.then(
      () => expect.fail("the process exited 0"),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe("");
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ msg: "port in use" });
  });
});
