import { constants } from "node:fs";
import { lstat, mkdir, open } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { Code, FedbridgeError } from "../fedbridge-error.ts";

/**
 * Paths built from what came over the wire (a job id, a file name a server sent) stay inside
 * the folder they are meant for, and writing never follows a symlink planted there.
 */

/** `root/parts...`, refused unless it lies inside `root` (a `..` or an absolute part would leave it). */
export function pathInside(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const path = resolve(base, ...parts);
  const rel = relative(base, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${parts.join("/")} would lead outside ${base}: refused`,
    );
  return path;
}

/**
 * Writes `data` to `relPath` under `root`: `root` is the caller's and is made if missing; every
 * folder on the way below it must be a real folder (made if missing, refused if it is a
 * symlink) and the file is opened without following a symlink, so nothing is written outside
 * `root`, whatever `root` already holds. Returns the path.
 */
export async function writeFileInside(
  root: string,
  relPath: string,
  data: Uint8Array | readonly Uint8Array[],
): Promise<string> {
  const target = pathInside(root, relPath);
  const folders = relative(resolve(root), target).split(sep).slice(0, -1);
  let at = resolve(root);
  await mkdir(at, { recursive: true }); // the root is the caller's choice: made as asked
  for (const folder of folders) {
    at = join(at, folder);
    const found = await lstat(at).catch(() => undefined);
    if (found === undefined)
      await mkdir(at).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      });
    else if (!found.isDirectory())
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `${at} is ${found.isSymbolicLink() ? "a symlink" : "not a folder"}: nothing is written through it`,
      );
  }
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const file = await open(target, flags, 0o644).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ELOOP")
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `${target} is a symlink: nothing is written through it`,
      );
    throw error;
  });
  try {
    for (const piece of data instanceof Uint8Array ? [data] : data) await file.write(piece);
  } finally {
    await file.close();
  }
  return target;
}
