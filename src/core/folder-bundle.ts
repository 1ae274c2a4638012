import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { unzipSync, Zip, ZipPassThrough } from "fflate";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import { writeFileInside } from "./security/path-inside.ts";
import { sha256Hex } from "./security/sha256.ts";

/** Flower's FAB_MAX_SIZE: 10 MiB. */
export const DEFAULT_MAX_BUNDLE_BYTES = 10 * 1024 * 1024;
/** The file list Flower puts in every FAB: one `path,sha256hex,size_in_bits` line per file. */
export const CONTENT_PATH = ".info/CONTENT";

export interface FolderBundleOptions {
  /** Largest bundle accepted, in bytes, both when packing and unpacking; default 10 MiB (Flower's). */
  maxBytes?: number;
  /** What a bundle is called in error messages, e.g. "app bundle" or "job bundle"; default "bundle". */
  label?: string;
}

export interface PackFolderOptions extends FolderBundleOptions {
  /**
   * Called with the sorted list of files before any is read, to refuse a folder early (for
   * example, one whose entry module would not be carried). Default: none.
   */
  checkPaths?: (paths: readonly string[]) => void;
  /** Files to carry that the folder lacks, by path (the folder's own file wins). Default: none. */
  extraFiles?: Readonly<Record<string, Uint8Array>>;
}

/** A packed folder: the zip and its hash. */
export interface FolderBundle {
  bytes: Uint8Array;
  /** Hex SHA-256 of `bytes`: the name a bundle is stored, signed and checked under. */
  sha256: string;
  /** The files in the bundle, sorted, without `.info/CONTENT`. */
  paths: string[];
}

/**
 * Packs a folder into a FAB-style zip. The output is deterministic (paths sorted by code unit, a
 * fixed date, no OS or permission bits), so a folder always gives the same hash, which is what
 * gets signed and checked. Entries are stored, not deflated: that is what Flower's
 * `writestr(ZipInfo)` writes, and it keeps the hash independent of the deflate implementation.
 * `node_modules/` and dot paths are skipped (the `.info/CONTENT` in the bundle is always the one
 * written here); symlinks and other non-regular files are refused, since skipping one would
 * silently drop a file the folder's code may need.
 *
 * @example
 * const { bytes, sha256 } = await packFolder("jobs/sum", { label: "job bundle" });
 */
export async function packFolder(
  dir: string,
  options: PackFolderOptions = {},
): Promise<FolderBundle> {
  const { maxBytes, label } = settings(options);
  const paths = (await listFiles(dir, "", label)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  options.checkPaths?.(paths);
  const files: [string, Uint8Array][] = [];
  let total = 0;
  for (const path of paths) {
    const data = await readFile(join(dir, path));
    total += data.length;
    if (total > maxBytes) throw tooBig(`folder ${dir}`, `at least ${total}`, maxBytes, label);
    files.push([path, data]);
  }
  for (const [path, data] of Object.entries(options.extraFiles ?? {})) {
    if (!paths.includes(path)) files.push([path, data]);
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const content = files.map(([path, data]) => `${path},${sha256Hex(data)},${data.length * 8}\n`);
  files.push([CONTENT_PATH, new TextEncoder().encode(content.join(""))]);
  const bytes = zipStored(files);
  if (bytes.length > maxBytes) throw tooBig(`folder ${dir}`, bytes.length, maxBytes, label);
  return { bytes, sha256: sha256Hex(bytes), paths };
}

/**
 * Checks a bundle and unpacks it into `destDir`, returning the folder's absolute path. Nothing is
 * written until everything is checked (`readBundle`). A `destDir` that does not exist yet is
 * written beside it under a hidden name and renamed into place, so a failed write leaves
 * nothing half-written; an existing one (the same bundle unpacked again) is written in place.
 */
export async function unpackFolder(
  bytes: Uint8Array,
  expectedSha256: string,
  destDir: string,
  options: FolderBundleOptions = {},
): Promise<string> {
  return writeFolder(readBundle(bytes, expectedSha256, options), destDir, options);
}

/**
 * Writes files (as `readBundle` returns them) into `destDir`, as `unpackFolder` does: staged and
 * renamed into place when `destDir` is new. Paths are checked again, so a map built by hand
 * cannot write outside `destDir` either.
 */
export async function writeFolder(
  files: ReadonlyMap<string, Uint8Array>,
  destDir: string,
  options: Pick<FolderBundleOptions, "label"> = {},
): Promise<string> {
  const label = options.label ?? "bundle";
  for (const path of files.keys()) {
    const unsafe = unsafePath(path);
    if (unsafe)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `${label} entry "${path}" is unsafe: ${unsafe}`,
      );
  }
  const dir = resolve(destDir);
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  const staging = join(dirname(dir), `.${basename(dir)}.partial-${randomBytes(4).toString("hex")}`);
  try {
    if (exists) await writeFiles(dir, files);
    else {
      try {
        await writeFiles(staging, files);
      } catch (error) {
        await rm(staging, { recursive: true, force: true }).catch(() => {});
        throw error;
      }
      await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
        await rm(staging, { recursive: true, force: true }).catch(() => {});
        // Another unpack of the same destination renamed first: write in place, as into an
        // existing folder.
        if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
        await writeFiles(dir, files);
      });
    }
  } catch (cause) {
    const message = `cannot unpack the ${label} into ${dir}: ${FedbridgeError.from(cause).message}`;
    throw new FedbridgeError(Code.Internal, message, { cause });
  }
  return dir;
}

async function writeFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [path, data] of files) await writeFileInside(dir, path, data);
}

/**
 * Checks a bundle and returns its files in memory, by path, without `.info/CONTENT`: the hash
 * of the whole zip first (so a corrupt or swapped download is named as such), then every
 * entry's path, and every file against `.info/CONTENT`. Any bad input, garbage included, ends
 * in a FedbridgeError. For a server that needs a file of a bundle (a job's meta.json) without
 * unpacking it.
 */
export function readBundle(
  bytes: Uint8Array,
  expectedSha256: string,
  options: FolderBundleOptions = {},
): Map<string, Uint8Array> {
  const { maxBytes, label } = settings(options);
  if (bytes.length > maxBytes) throw tooBig(label, bytes.length, maxBytes, label);
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256.toLowerCase()) {
    throw new FedbridgeError(
      Code.DataLoss,
      `${label} hash mismatch: expected ${expectedSha256}, got ${actual}`,
    );
  }
  const files = readZip(bytes, label);
  const content = files.get(CONTENT_PATH);
  if (!content) throw new FedbridgeError(Code.DataLoss, `${label} has no ${CONTENT_PATH}`);
  files.delete(CONTENT_PATH);
  const listed = parseContent(new TextDecoder().decode(content), label);
  for (const [path, data] of files) {
    const want = listed.get(path);
    if (want === undefined) {
      throw new FedbridgeError(Code.DataLoss, `${label} file ${path} is not in ${CONTENT_PATH}`);
    }
    const got = `${sha256Hex(data)},${data.length * 8}`;
    if (got !== want) {
      throw new FedbridgeError(
        Code.DataLoss,
        `${label} file ${path} does not match ${CONTENT_PATH}: expected ${want}, got ${got}`,
      );
    }
  }
  const missing = [...listed.keys()].find((path) => !files.has(path));
  if (missing !== undefined) {
    throw new FedbridgeError(Code.DataLoss, `${label} lacks ${missing}, listed in ${CONTENT_PATH}`);
  }
  return files;
}

function settings(options: FolderBundleOptions): { maxBytes: number; label: string } {
  return {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES,
    label: options.label ?? "bundle",
  };
}

/** Regular files under `dir/prefix`, as `/`-separated relative paths. */
async function listFiles(dir: string, prefix: string, label: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const unsafe = unsafePath(path);
    if (unsafe) throw new FedbridgeError(Code.InvalidArgument, `cannot bundle ${path}: ${unsafe}`);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, path, label)));
    else if (entry.isFile()) out.push(path);
    else {
      const kind = entry.isSymbolicLink() ? "a symlink" : "not a regular file";
      throw new FedbridgeError(
        Code.InvalidArgument,
        `cannot bundle ${join(dir, path)}: it is ${kind}; ${article(label)} ${label} carries regular files only`,
      );
    }
  }
  return out;
}

/** Why a bundle path could escape or confuse the destination folder, or undefined if it is safe. */
function unsafePath(path: string): string | undefined {
  if (path.includes("\\")) return "it contains a backslash";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "it is absolute";
  if ([...path].some((c) => c < " ")) return "it contains a control character";
  const segments = path.split("/");
  if (segments.includes("..")) return "it climbs out of the folder (..)";
  if (segments.some((s) => s === "" || s === ".")) return "it has an empty or '.' segment";
  return undefined;
}

/** A zip of stored entries in the given order (fflate's zipSync would reorder numeric names). */
function zipStored(files: [string, Uint8Array][]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    chunks.push(chunk);
  });
  // Flower's FAB_DATE, 2024-10-01 00:00. A zip's DOS date is local time and fflate reads the
  // Date's local fields, so the Date is made from local fields now, in the current time zone:
  // every zone then writes the same bytes.
  const fabDate = new Date(2024, 9, 1, 0, 0, 0);
  for (const [path, data] of files) {
    const entry = new ZipPassThrough(path);
    entry.mtime = fabDate;
    entry.os = 0; // "MS-DOS": no Unix mode bits
    entry.attrs = 0;
    zip.add(entry);
    entry.push(data, true);
  }
  zip.end();
  return new Uint8Array(Buffer.concat(chunks)); // a copy: never a view of Node's shared pool
}

/**
 * The entries of a zip, checked before anything is extracted: safe paths, no duplicates, and
 * stored only, so a small bundle cannot inflate into gigabytes.
 */
function readZip(bytes: Uint8Array, label: string): Map<string, Uint8Array> {
  const seen = new Set<string>();
  let count = 0;
  const bad = (message: string) => new FedbridgeError(Code.InvalidArgument, message);
  try {
    const entries = unzipSync(bytes, {
      filter: ({ name, compression }) => {
        // A central directory entry takes at least 46 bytes; more entries means garbage.
        if (++count > bytes.length / 46) throw new Error("more entries than its size can hold");
        if (name.endsWith("/")) return false; // a folder entry: folders come from file paths
        const unsafe = unsafePath(name);
        if (unsafe) throw bad(`${label} entry "${name}" is unsafe: ${unsafe}`);
        if (compression !== 0)
          throw bad(`${label} entry ${name} is compressed; bundles store entries uncompressed`);
        if (seen.has(name)) throw bad(`${label} entry ${name} appears twice`);
        seen.add(name);
        return true;
      },
    });
    return new Map(Object.entries(entries));
  } catch (cause) {
    if (cause instanceof FedbridgeError) throw cause;
    const message = `${label} is not a valid zip file (${FedbridgeError.from(cause).message})`;
    throw new FedbridgeError(Code.InvalidArgument, message, { cause });
  }
}

/** `.info/CONTENT` as path → `sha256hex,size_in_bits`; paths may hold commas, hashes cannot. */
function parseContent(text: string, label: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const match = /^(.+),([0-9a-f]{64},\d+)$/.exec(line);
    if (!match?.[1] || !match[2] || listed.has(match[1])) {
      throw new FedbridgeError(
        Code.DataLoss,
        `${label}: ${CONTENT_PATH} line ${i + 1} is malformed`,
      );
    }
    listed.set(match[1], match[2]);
  }
  return listed;
}

function tooBig(what: string, size: number | string, maxBytes: number, label: string) {
  return new FedbridgeError(
    Code.ResourceExhausted,
    `${what} is too big for ${article(label)} ${label}: ${size} bytes, over the ${maxBytes}-byte limit (option maxBytes)`,
  );
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}
