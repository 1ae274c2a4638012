import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { readAppManifest } from "../app/load-app.ts";
import { type AppBundle, CONTENT_PATH, packApp, unpackApp } from "./app-bundle.ts";

const quickstart = "examples/quickstart";
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The FedbridgeError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<FedbridgeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FedbridgeError);
  return error as FedbridgeError;
}

describe("app bundle", () => {
  let tmp: string;
  let bundle: AppBundle;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "app-bundle-"));
    bundle = await packApp(quickstart);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it("packs the same folder into the same bytes, in any time zone", async () => {
    const zone = process.env.TZ;
    process.env.TZ = "Pacific/Kiritimati";
    try {
      const again = await packApp(quickstart);
      expect(again.sha256).toBe(bundle.sha256);
      expect(Buffer.from(again.bytes).equals(bundle.bytes)).toBe(true);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    expect(bundle.sha256).toBe(sha256(bundle.bytes));
    // The first local header's DOS time and date: 00:00, 2024-10-01 (Flower's FAB_DATE).
    const view = new DataView(bundle.bytes.buffer, bundle.bytes.byteOffset);
    expect([view.getUint16(10, true), view.getUint16(12, true)]).toEqual([
      0,
      (44 << 9) | (10 << 5) | 1,
    ]);
    console.log(`examples/quickstart bundle: ${bundle.bytes.length} bytes, ${bundle.sha256}`);
  });

  it("lists every file, sorted, in .info/CONTENT, and skips node_modules and dot paths", async () => {
    const names = Object.keys(unzipSync(bundle.bytes));
    expect(names).toEqual([
      "client.ts",
      "fedbridge_typescript_app.py",
      "package.json",
      "privacy.ts",
      "pyproject.toml",
      "run-config.ts",
      "server.ts",
      "strategies.ts",
      "task.ts",
      CONTENT_PATH,
    ]);
    const content = new TextDecoder().decode(unzipSync(bundle.bytes)[CONTENT_PATH]);
    const task = await readFile(join(quickstart, "task.ts"));
    expect(content).toContain(`task.ts,${sha256(task)},${task.length * 8}\n`);

    const copy = join(tmp, "with-extras");
    await cp(quickstart, copy, { recursive: true });
    for (const extra of ["node_modules/x/index.js", ".git/config", ".env", ".info/CONTENT"]) {
      await mkdir(join(copy, extra, ".."), { recursive: true });
      await writeFile(join(copy, extra), "not bundled");
    }
    expect((await packApp(copy)).sha256).toBe(bundle.sha256);
  });

  it("unpacks into a folder that loads as the same app, byte for byte", async () => {
    const dest = await unpackApp(bundle.bytes, bundle.sha256, join(tmp, "run"));
    const manifest = await readAppManifest(dest);
    expect(manifest.config).toEqual(bundle.manifest.config);
    for (const name of ["client.ts", "package.json", "server.ts", "task.ts"]) {
      const [original, unpacked] = [join(quickstart, name), join(dest, name)].map((p) =>
        readFile(p),
      );
      expect((await unpacked).equals(await original)).toBe(true);
    }
  });

  it("refuses a hash mismatch before writing anything", async () => {
    const dest = join(tmp, "mismatch");
    const error = await failure(unpackApp(bundle.bytes, "ab".repeat(32), dest));
    expect(error.code).toBe(Code.DataLoss);
    expect(error.message).toBe(
      `app bundle hash mismatch: expected ${"ab".repeat(32)}, got ${bundle.sha256}`,
    );
    await expect(stat(dest)).rejects.toThrow();
  });

  it("refuses garbage with a clear error", async () => {
    const eocdOnly = new Uint8Array(22).fill(0xff);
    eocdOnly.set([0x50, 0x4b, 0x05, 0x06]);
    const garbage = [
      new Uint8Array(0),
      strToU8("not a zip at all"),
      eocdOnly,
      bundle.bytes.slice(9),
    ];
    for (const bytes of garbage) {
      const error = await failure(unpackApp(bytes, sha256(bytes), join(tmp, "garbage")));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toMatch(/app bundle (is not a valid zip|entry)/);
    }
  });

  it("refuses an entry whose path climbs out of the folder", async () => {
    const evil = strToU8("evil");
    const content = strToU8(`../evil,${sha256(evil)},${evil.length * 8}\n`);
    const bytes = zipSync({ "../evil": evil, [CONTENT_PATH]: content }, { level: 0 });
    const dest = join(tmp, "evil", "run");
    const error = await failure(unpackApp(bytes, sha256(bytes), dest));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toContain('"../evil" is unsafe');
    await expect(stat(join(dest, "..", "evil"))).rejects.toThrow();
  });

  it("refuses a file that does not match .info/CONTENT", async () => {
    const files = unzipSync(bundle.bytes);
    files["task.ts"] = strToU8("export const tampered = true;\n");
    const bytes = zipSync(files, { level: 0 });
    const error = await failure(unpackApp(bytes, sha256(bytes), join(tmp, "tampered")));
    expect(error.code).toBe(Code.DataLoss);
    expect(error.message).toMatch(/^app bundle file task.ts does not match \.info\/CONTENT/);
  });

  it("refuses a bundle over the size limit, packing or unpacking", async () => {
    const packing = await failure(packApp(quickstart, { maxBytes: 1000 }));
    expect(packing.code).toBe(Code.ResourceExhausted);
    expect(packing.message).toMatch(/too big for an app bundle: .* over the 1000-byte limit/);
    const limit = { maxBytes: bundle.bytes.length - 1 };
    const unpacking = await failure(unpackApp(bundle.bytes, bundle.sha256, tmp, limit));
    expect(unpacking.code).toBe(Code.ResourceExhausted);
  });

  it("refuses symlinks rather than silently dropping them", async () => {
    const copy = join(tmp, "with-link");
    await cp(quickstart, copy, { recursive: true });
    await symlink(join(copy, "task.ts"), join(copy, "link.ts"));
    const error = await failure(packApp(copy));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.message).toMatch(/link\.ts: it is a symlink/);
  });
});

describe("the pyproject.toml a Flower SuperNode reads", () => {
  it("is generated for a TypeScript app: its name and version, every config key and seed", async () => {
    const bundle = await packApp("examples/quickstart");
    const files = unzipSync(bundle.bytes);
    const pyproject = new TextDecoder().decode(files["pyproject.toml"]);
    expect(pyproject).toContain('name = "quickstart"');
    expect(pyproject).toContain('publisher = "fedbridge"');
    expect(pyproject).toContain('clientapp = "fedbridge_typescript_app:clientapp"');
    expect(pyproject).toContain('"seed" = 0');
    expect(pyproject).toContain('"lr" = 0.1');
    expect(pyproject).toContain('"num-server-rounds" = 3');
    expect(bundle.identity).toMatchObject({ fabId: "fedbridge/quickstart", fabVersion: "0.0.0" });
    expect(bundle.identity.own).toBe(false);
    const config = (await readAppManifest("examples/quickstart")).config;
    expect(bundle.identity.configKeys.sort()).toEqual(["seed", ...Object.keys(config)].sort());
    // The components' module loads on a Flower node and refuses each message, saying why.
    const module = new TextDecoder().decode(files["fedbridge_typescript_app.py"]);
    expect(module).toContain(
      "this app's ClientApp is TypeScript (client.ts): run a fedbridge supernode at this site",
    );
    expect(module).toContain("clientapp = ClientApp(client_fn=_refuse)");
  });

  it("is the app's own when it has one: identity and config keys from it, nothing added", async () => {
    const bundle = await packApp("test/apps/pyquick");
    const files = unzipSync(bundle.bytes);
    expect(files["fedbridge_typescript_app.py"]).toBeUndefined();
    expect(new TextDecoder().decode(files["pyproject.toml"])).toBe(
      await readFile("test/apps/pyquick/pyproject.toml", "utf8"),
    );
    expect(bundle.identity).toMatchObject({
      fabId: "lab/pyquick",
      fabVersion: "2.1.0",
      configKeys: ["num-server-rounds"],
      components: { serverapp: "pyquick.server_app:app", clientapp: "pyquick.client_app:app" },
      own: true,
    });
  });

  it("refuses an app's own pyproject.toml without a publisher, naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "app-bundle-pyproject-"));
    try {
      await cp("test/apps/pyquick", dir, { recursive: true });
      const text = await readFile(join(dir, "pyproject.toml"), "utf8");
      await writeFile(join(dir, "pyproject.toml"), text.replace('publisher = "lab"', ""));
      const error = await failure(packApp(dir));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.message).toContain(
        `${join(dir, "pyproject.toml")}: [tool.flwr.app] needs "publisher"`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
