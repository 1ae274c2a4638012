import { afterAll, describe, expect, it } from "vitest";
import { killAll, startFedbridge } from "./processes.ts";

afterAll(killAll);

const superlink = (extra: string[]) =>
  startFedbridge([
    "superlink",
    "--insecure",
    "--fleet-api-address",
    "127.0.0.1:0",
    "--control-api-address",
    "127.0.0.1:0",
    ...extra,
  ]);

describe("the log format of long-running processes", () => {
  it("is a text line by default: time, level, name, message", async () => {
    const process = superlink([]);
    const [line] = await process.waitFor(/^.*Fleet API on port \d+.*$/m);
    process.child.kill("SIGTERM");
    expect(line).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}superlink: SuperLink: Fleet API on port \d+, control API on port \d+, ServerAppIo API on port \d+$/,
    );
  });

  it("is pino's JSON with --log-format json", async () => {
    const process = superlink(["--log-format", "json"]);
    const [line] = await process.waitFor(/^.*Fleet API on port \d+.*$/m);
    process.child.kill("SIGTERM");
    expect(JSON.parse(line)).toMatchObject({
      level: 30,
      name: "superlink",
      msg: expect.stringMatching(
        /^SuperLink: Fleet API on port \d+, control API on port \d+, ServerAppIo API on port \d+$/,
      ),
    });
  });
});
