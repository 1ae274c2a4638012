import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import {
  CONTENT_PATH,
  packFolder,
  readBundle,
  unpackFolder,
  writeFolder,
} from "./folder-bundle.ts";
import { sha256Hex } from "./security/sha256.ts";

/** The FedbridgeError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<FedbridgeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FedbridgeError);
  return error as FedbridgeError;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe("folder bundle", () => {
  let tmp: string;
  let src: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "folder-bundle-"));
    src = join(tmp, "job");
    await mkdir(join(src, "app", "custom"), { recursive: true });
    await writeFile(join(src, "meta.json"), '{"name":"sum"}');
    await writeFile(join(src, "app", "custom", "10.txt"), "ten");
    await writeFile(join(src, "app", "custom", "9.txt"), "nine");
    await writeFile(join(src, ".hidden"), "skipped");
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("packs nested folders deterministically and unpacks them byte for byte", async () => {
    const bundle = await packFolder(src);
    expect(bundle.paths).toEqual(["app/custom/10.txt", "app/custom/9.txt", "meta.json"]);
    expect(bundle.sha256).toBe(sha256Hex(bundle.bytes));
    expect((await packFolder(src)).sha256).toBe(bundle.sha256);
    expect(Object.keys(unzipSync(bundle.bytes))).toEqual([...bundle.paths, CONTENT_PATH]);

    const dest = await unpackFolder(bundle.bytes, bundle.sha256, join(tmp, "out", "job"));
    expect(await readFile(join(dest, "app", "custom", "9.txt"), "utf8")).toBe("nine");
    expect(await readFile(join(dest, "meta.json"), "utf8")).toBe('{"name":"sum"}');
    // Staged beside the destination and renamed: no hidden leftovers.
    expect(await readdir(join(tmp, "out"))).toEqual(["job"]);
    // Unpacking the same bundle again into the existing folder is fine.
    await unpackFolder(bundle.bytes, bundle.sha256, dest);
  });

  it("lets two unpacks of one bundle into one new folder both succeed", async () => {
    const bundle = await packFolder(src);
    const dest = join(tmp, "race", "job");
    const dirs = await Promise.all(
      [1, 2, 3].map(() => unpackFolder(bundle.bytes, bundle.sha256, dest)),
    );
    expect(new Set(dirs)).toEqual(new Set([dest]));
    expect(await readdir(join(tmp, "race"))).toEqual(["job"]);
    expect(await readFile(join(dest, "meta.json"), "utf8")).toBe('{"name":"sum"}');
  });

  it("reads a bundle into memory, checked, and writes only safe paths", async () => {
    const bundle = await packFolder(src);
    const files = readBundle(bundle.bytes, bundle.sha256);
    expect([...files.keys()]).toEqual(bundle.paths);
    expect(new TextDecoder().decode(files.get("meta.json"))).toBe('{"name":"sum"}');
    const evil = new Map([["../escape.txt", new Uint8Array(1)]]);
    await expect(writeFolder(evil, join(tmp, "w"), { label: "job bundle" })).rejects.toThrow(
      'job bundle entry "../escape.txt" is unsafe: it climbs out of the folder (..)',
    );
    expect(await exists(join(tmp, "escape.txt"))).toBe(false);
  });

  it("names the bundle by its label in errors", async () => {
    const bundle = await packFolder(src);
    const error = await failure(
      unpackFolder(bundle.bytes, "00".repeat(32), join(tmp, "x"), { label: "job bundle" }),
    );
    expect(error.code).toBe(Code.DataLoss);
    expect(error.message).toMatch(/^job bundle hash mismatch/);
    const big = await failure(packFolder(src, { maxBytes: 5, label: "job bundle" }));
    expect(big.code).toBe(Code.ResourceExhausted);
    expect(big.message).toMatch(/too big for a job bundle: .* over the 5-byte limit/);
  });

  it("lets the caller refuse a file list before anything is read", async () => {
    const checkPaths = (paths: readonly string[]) => {
      if (!paths.includes("run.ts")) throw new FedbridgeError(Code.InvalidArgument, "no run.ts");
    };
    const error = await failure(packFolder(src, { checkPaths }));
    expect(error.message).toBe("no run.ts");
  });

  it("refuses an escaping path and an oversized bundle without writing anything", async () => {
    const evil = strToU8("evil");
    const content = strToU8(`../evil,${sha256Hex(evil)},${evil.length * 8}\n`);
    const bytes = zipSync({ "../evil": evil, [CONTENT_PATH]: content }, { level: 0 });
    const dest = join(tmp, "evil", "run");
    const escaped = await failure(unpackFolder(bytes, sha256Hex(bytes), dest));
    expect(escaped.code).toBe(Code.InvalidArgument);
    expect(escaped.message).toContain('bundle entry "../evil" is unsafe');
    expect(await exists(join(tmp, "evil"))).toBe(false);

    const bundle = await packFolder(src);
    const limit = { maxBytes: bundle.bytes.length - 1 };
    const big = await failure(unpackFolder(bundle.bytes, bundle.sha256, dest, limit));
    expect(big.code).toBe(Code.ResourceExhausted);
    expect(await exists(join(tmp, "evil"))).toBe(false);
  });

  it("refuses a deflated entry (no zip bombs)", async () => {
    const data = strToU8("x".repeat(1000));
    const content = strToU8(`a.txt,${sha256Hex(data)},${data.length * 8}\n`);
    const bytes = zipSync({ "a.txt": data, [CONTENT_PATH]: content }, { level: 9 });
    const error = await failure(unpackFolder(bytes, sha256Hex(bytes), join(tmp, "bomb")));
    expect(error.message).toMatch(/entry a.txt is compressed/);
  });

  it("removes its staging folder when a write fails", async () => {
    // Passes every check, but "a" cannot be both a file and a folder: written half, then fails.
    const [a, b] = [strToU8("file"), strToU8("nested")];
    const content = strToU8(
      `a,${sha256Hex(a)},${a.length * 8}\na/b,${sha256Hex(b)},${b.length * 8}\n`,
    );
    const bytes = zipSync({ a, "a/b": b, [CONTENT_PATH]: content }, { level: 0 });
    await mkdir(join(tmp, "half"));
    const error = await failure(unpackFolder(bytes, sha256Hex(bytes), join(tmp, "half", "job")));
    expect(error.code).toBe(Code.Internal);
    expect(error.message).toMatch(/^cannot unpack the bundle into/);
    expect(await readdir(join(tmp, "half"))).toEqual([]);
  });
});
