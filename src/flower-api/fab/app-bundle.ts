import { relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  CONTENT_PATH,
  DEFAULT_MAX_BUNDLE_BYTES,
  packFolder,
  unpackFolder,
} from "../../core/folder-bundle.ts";
import { type AppManifest, readAppManifest } from "../app/load-app.ts";
import { bundlePyproject, type FabIdentity } from "./flower-pyproject.ts";

export { CONTENT_PATH, DEFAULT_MAX_BUNDLE_BYTES };

/** What app bundles are called in error messages. */
const LABEL = "app bundle";

export interface AppBundleOptions {
  /** Largest bundle accepted, in bytes, both when packing and unpacking; default 10 MiB (Flower's). */
  maxBytes?: number;
}

/** A packed app: the zip, its hash (Flower's `fab_hash`), and the manifest it was built from. */
export interface AppBundle {
  bytes: Uint8Array;
  /** Hex SHA-256 of `bytes`: the key a SuperLink stores the bundle under. */
  sha256: string;
  manifest: AppManifest;
  /** Its fab id, version and config keys, from the pyproject.toml it carries. */
  identity: FabIdentity;
}

/**
 * Packs an app folder into a FAB-style zip (`packFolder`: deterministic, stored entries,
 * `.info/CONTENT`, no `node_modules/` or dot paths, symlinks refused). On top of that, the
 * app's serverapp and clientapp modules must be among the bundled files, or the bundle would
 * not run where it is unpacked. It always carries a valid pyproject.toml, so Flower's own nodes
 * can read it: the app's own (checked), or one generated (see `bundlePyproject`).
 *
 * @example
 * const { bytes, sha256 } = await packApp("examples/quickstart");
 */
export async function packApp(appDir: string, options: AppBundleOptions = {}): Promise<AppBundle> {
  const manifest = await readAppManifest(appDir);
  const modules = { serverapp: manifest.serverappUrl, clientapp: manifest.clientappUrl };
  const checkPaths = (paths: readonly string[]) => {
    for (const [what, url] of Object.entries(modules)) {
      const path = relative(manifest.dir, fileURLToPath(url)).split(sep).join("/");
      if (!paths.includes(path)) {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `${appDir}: the ${what} module ${path} is outside the app folder or in a skipped path (node_modules, dot paths), so the bundle would not carry it`,
        );
      }
    }
  };
  const { identity, extraFiles } = await bundlePyproject(manifest);
  const { bytes, sha256 } = await packFolder(manifest.dir, {
    ...options,
    label: LABEL,
    checkPaths,
    extraFiles,
  });
  return { bytes, sha256, manifest, identity };
}

/**
 * Checks an app bundle (hash, entry paths, `.info/CONTENT`) and unpacks it into `destDir`,
 * returning the folder's absolute path; see `unpackFolder`.
 */
export function unpackApp(
  bytes: Uint8Array,
  expectedSha256: string,
  destDir: string,
  options: AppBundleOptions = {},
): Promise<string> {
  return unpackFolder(bytes, expectedSha256, destDir, { ...options, label: LABEL });
}
