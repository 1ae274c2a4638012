import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseJobMeta, readJobMeta } from "./job-meta.ts";

/** The message of the FedbridgeError `fn` throws. */
function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FedbridgeError);
    expect((error as FedbridgeError).code).toBe(Code.InvalidArgument);
    return (error as Error).message;
  }
  throw new Error("did not throw");
}

describe("job meta", () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "job-meta-"));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("fills the defaults of a minimal meta.json", () => {
    expect(parseJobMeta({ name: "sum-job", app: "sum" })).toEqual({
      name: "sum-job",
      app: "sum",
      deployMap: ["@ALL"],
      minSites: 1,
      mandatorySites: [],
      resourceSpec: {},
      config: {},
    });
  });

  it("keeps a full meta.json as written", () => {
    const full = {
      name: "cifar",
      app: "flower",
      deployMap: ["site-1", "site-2", "site-3"],
      minSites: 2,
      mandatorySites: ["site-1"],
      resourceSpec: { "@ALL": { memoryGb: 4 }, "site-1": { gpus: 1, memoryGb: 8.5 } },
      config: { rounds: 3, nested: { lr: 0.1, tags: ["a", null] } },
      timeoutSeconds: 600,
    };
    expect(parseJobMeta(full)).toEqual(full);
    expect(parseJobMeta({ ...full, deployMap: "@ALL" }).deployMap).toEqual(["@ALL"]);
  });

  it("refuses unknown keys and wrong types, naming each key", () => {
    expect(problem(() => parseJobMeta({ name: "j", app: "sum", minSite: 2 }))).toBe(
      'meta.json: unknown key "minSite"',
    );
    expect(problem(() => parseJobMeta({ name: "j", app: "sum", minSites: "2" }))).toBe(
      "meta.json: minSites expected number, received string",
    );
    expect(problem(() => parseJobMeta({ name: "j", app: "sum", minSites: 0 }))).toMatch(
      /^meta\.json: minSites too small/,
    );
    const spec = { resourceSpec: { "site-1": { gpus: 1.5, cpus: 2 } } };
    const message = problem(() => parseJobMeta({ name: "j", app: "sum", ...spec }));
    expect(message).toContain("resourceSpec.site-1.gpus expected int");
    expect(message).toContain('resourceSpec.site-1: unknown key "cpus"');
    expect(problem(() => parseJobMeta({ app: "sum", deployMap: 3 }))).toMatch(
      /name is required; deployMap must be "@ALL" or a list of site names/,
    );
    expect(problem(() => parseJobMeta({ name: "j", app: "sum", timeoutSeconds: -1 }))).toMatch(
      /timeoutSeconds too small/,
    );
    expect(problem(() => parseJobMeta([]))).toBe("meta.json: must be a JSON object");
    expect(problem(() => parseJobMeta({ name: "j", app: "sum", deployMap: ["../x"] }))).toMatch(
      /deployMap\.0 must be a site name \(letters/,
    );
  });

  it("refuses a meta that could never be scheduled as written", () => {
    const base = { name: "j", app: "sum", deployMap: ["site-1", "site-2"] };
    expect(problem(() => parseJobMeta({ ...base, minSites: 3 }))).toMatch(
      /minSites is 3 but deployMap lists only 2 site/,
    );
    expect(problem(() => parseJobMeta({ ...base, mandatorySites: ["site-9"] }))).toMatch(
      /mandatorySites: site-9 is not in deployMap/,
    );
    expect(problem(() => parseJobMeta({ ...base, resourceSpec: { "site-9": {} } }))).toMatch(
      /resourceSpec: site-9 is not in deployMap/,
    );
    expect(problem(() => parseJobMeta({ ...base, deployMap: ["site-1", "site-1"] }))).toMatch(
      /deployMap lists site-1 twice/,
    );
    expect(problem(() => parseJobMeta({ ...base, deployMap: ["@ALL", "site-1"] }))).toMatch(
      /list it alone/,
    );
  });

  it("reads a job folder, and says clearly when meta.json is missing or broken", async () => {
    const job = join(tmp, "job");
    await mkdir(job);
    await expect(readJobMeta(job)).rejects.toThrow(`${job} has no meta.json: a job folder holds`);
    await writeFile(join(job, "meta.json"), "{ not json");
    await expect(readJobMeta(job)).rejects.toThrow(/meta\.json: not valid JSON/);
    await writeFile(join(job, "meta.json"), JSON.stringify({ name: "j", app: "sum", x: 1 }));
    await expect(readJobMeta(job)).rejects.toThrow(`${join(job, "meta.json")}: unknown key "x"`);
    await writeFile(join(job, "meta.json"), JSON.stringify({ name: "j", app: "sum" }));
    expect((await readJobMeta(job)).name).toBe("j");
    await expect(readJobMeta(join(tmp, "nope"))).rejects.toThrow(/not a job folder/);
  });
});
