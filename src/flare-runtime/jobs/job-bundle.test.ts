import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/fedbridge-error.ts";
import { packFolder } from "../../core/folder-bundle.ts";
import { KIT_FILES } from "../provision/kit-config.ts";
import { provisionProject } from "../provision/provision.ts";
import { inspectJobBundle, packJob, type SignedJobBundle, unpackJobBundle } from "./job-bundle.ts";
import { signBundle } from "./job-signature.ts";

const PROJECT = `
name: demo
participants:
  - { name: server1, type: server, org: org-a }
  - { name: site-1, type: client, org: org-a }
  - { name: lead@org-a.com, type: admin, org: org-a, role: lead }
`;

describe("job bundles", () => {
  let tmp: string;
  let kitDir: (name: string) => string;
  let rootCaPem: string;
  let jobDir: string;
  const pem = (name: string, file: string) => readFile(join(kitDir(name), file), "utf8");

  /** The job folder at `dir`, packed and signed by `signer`'s kit. */
  async function signed(dir: string, signer = "lead@org-a.com"): Promise<SignedJobBundle> {
    const { bytes, sha256 } = await packFolder(dir);
    return {
      bytes,
      sha256,
      signature: signBundle(sha256, await pem(signer, KIT_FILES.key)),
      submitterCertPem: await pem(signer, KIT_FILES.cert),
    };
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "job-bundle-"));
    await writeFile(join(tmp, "project.yml"), PROJECT);
    const { dir } = await provisionProject(join(tmp, "project.yml"), join(tmp, "ws"));
    kitDir = (name) => join(dir, name);
    rootCaPem = await pem("server1", KIT_FILES.rootCa);
    jobDir = join(tmp, "job");
    await mkdir(join(jobDir, "app"), { recursive: true });
    await writeFile(join(jobDir, "meta.json"), JSON.stringify({ name: "sum", app: "sum" }));
    await writeFile(join(jobDir, "app", "numbers.json"), "[1, 2, 3]");
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("packs a job, checks it at the server, and unpacks it at a site", async () => {
    const packed = await packJob(jobDir);
    expect(packed.meta.name).toBe("sum");
    const bundle = await signed(jobDir);
    expect(bundle.sha256).toBe(packed.sha256);
    const checked = inspectJobBundle(bundle, rootCaPem);
    expect(checked.signer).toEqual({ name: "lead@org-a.com", org: "org-a", role: "lead" });
    expect(checked.meta).toMatchObject({ name: "sum", app: "sum", deployMap: ["@ALL"] });
    expect([...checked.files.keys()]).toEqual(["app/numbers.json", "meta.json"]);

    const { dir } = await unpackJobBundle(bundle, rootCaPem, join(tmp, "site", "job-1"));
    expect(await readFile(join(dir, "app", "numbers.json"), "utf8")).toBe("[1, 2, 3]");
  });

  it("refuses bytes that are not the ones signed, and a site's signature, writing nothing", async () => {
    const bundle = await signed(jobDir);
    const other = await packFolder(join(jobDir, "app"));
    const dest = join(tmp, "refused", "job");
    const swapped = unpackJobBundle({ ...bundle, bytes: other.bytes }, rootCaPem, dest);
    await expect(swapped).rejects.toMatchObject({
      code: Code.DataLoss,
      message: expect.stringMatching(/^job bundle hash mismatch/),
    });
    const relabelled = { ...bundle, bytes: other.bytes, sha256: other.sha256 };
    await expect(unpackJobBundle(relabelled, rootCaPem, dest)).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    const bySite = await signed(jobDir, "site-1");
    await expect(unpackJobBundle(bySite, rootCaPem, dest)).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
    await expect(readdir(join(tmp, "refused"))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a bundle without meta.json, with bad meta, or too big", async () => {
    const noMeta = await signed(join(jobDir, "app"));
    expect(() => inspectJobBundle(noMeta, rootCaPem)).toThrow(
      "job bundle has no meta.json at its top",
    );
    const bad = join(tmp, "bad-meta");
    await mkdir(bad);
    await writeFile(join(bad, "meta.json"), JSON.stringify({ name: "x", app: "sum", gpus: 1 }));
    const badBundle = await signed(bad);
    expect(() => inspectJobBundle(badBundle, rootCaPem)).toThrow(
      'job bundle meta.json: unknown key "gpus"',
    );
    await expect(packJob(bad)).rejects.toThrow(/unknown key "gpus"/);
    const bundle = await signed(jobDir);
    expect(() => inspectJobBundle(bundle, rootCaPem, { maxBytes: 100 })).toThrow(
      /too big for a job bundle/,
    );
    await expect(packJob(jobDir, { maxBytes: 100 })).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
  });
});
