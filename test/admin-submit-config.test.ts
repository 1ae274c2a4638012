import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { localProjectYml } from "../src/flare-runtime/provision/index.ts";
import { runFedbridge } from "./run-fedbridge.ts";

// `admin submit` checks --run-config against the app's or the job's config before it sends
// anything: no server runs here, so a refusal can only come from the check.

let adminKit: string;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), "fedbridge-submit-config-"));
  const admins = [{ name: "admin@org-a.com", org: "org-a", role: "project_admin" }];
  const yml = localProjectYml("demo", await freePort(), [{ name: "site-1", org: "org-a" }], admins);
  await writeFile(join(root, "project.yml"), yml);
  const provisioned = await runFedbridge(["provision", join(root, "project.yml"), "-o", root]);
  if (provisioned.code !== 0) throw new Error(`provision failed: ${provisioned.stderr}`);
  adminKit = join(root, "demo", "admin@org-a.com");
});

const submit = (dir: string, config: string) =>
  runFedbridge(["admin", "--kit", adminKit, "submit", dir, "--run-config", config]);

describe("fedbridge admin submit refuses bad --run-config before it sends the job", () => {
  it.each([
    [
      "examples/quickstart",
      "num-server-rounds=abc",
      "--run-config: num-server-rounds=abc: expected an integer (the app's default is 3)",
    ],
    ["examples/quickstart", "colour=red", "--run-config: unknown key 'colour' (the app's keys: "],
    [
      "test/jobs/sag",
      "numRounds=2.5",
      "--run-config: numRounds=2.5: expected an integer (the job's default is 3)",
    ],
    [
      "test/jobs/sag",
      "workflows=none",
      "--run-config: workflows=none: expected a list, which cannot be overridden",
    ],
    [
      "test/jobs/sag",
      "colour=red",
      "--run-config: unknown key 'colour' (the job's keys: numRounds",
    ],
  ])("%s with %s", async (dir, config, message) => {
    const run = await submit(dir, config);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(message);
  });

  it("lets good overrides through to the server (here: none listening)", async () => {
    const run = await submit("test/jobs/sag", `numRounds=2 throwAt="site-1" seed=3`);
    expect(run.code).not.toBe(0);
    expect(run.stderr).not.toMatch(/--run-config|invalid_argument/);
  });
});
