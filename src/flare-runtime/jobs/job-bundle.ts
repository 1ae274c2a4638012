import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { packFolder, readBundle, writeFolder } from "../../core/folder-bundle.ts";
import { JOB_META_FILE, type JobMeta, parseJobMeta, readJobMeta } from "./job-meta.ts";
import { type BundleSigner, verifyBundle } from "./job-signature.ts";

/** What job bundles are called in error messages. */
export const JOB_BUNDLE_LABEL = "job bundle";
/** Largest job bundle accepted by default: 64 MiB (models travel as job data, not in bundles). */
export const DEFAULT_MAX_JOB_BUNDLE_BYTES = 64 * 1024 * 1024;

export interface JobBundleOptions {
  /** Largest bundle accepted, in bytes; default `DEFAULT_MAX_JOB_BUNDLE_BYTES`. */
  maxBytes?: number;
  /** When the signer's certificate must be valid; default now. */
  now?: Date;
}

/** A job bundle as it travels: the zip, its hash, and its submitter's signature of the hash. */
export interface SignedJobBundle {
  bytes: Uint8Array;
  sha256: string;
  /** `signBundle(sha256, adminKeyPem)`. */
  signature: string;
  submitterCertPem: string;
}

/** A job bundle that passed every check. */
export interface CheckedJobBundle {
  meta: JobMeta;
  signer: BundleSigner;
  /** The bundle's files by path, checked against its `.info/CONTENT`. */
  files: Map<string, Uint8Array>;
}

/**
 * Checks a job folder's meta.json and packs the folder: what an admin submits. Bad meta is
 * refused before anything is packed.
 */
export async function packJob(
  jobDir: string,
  options: Pick<JobBundleOptions, "maxBytes"> = {},
): Promise<{ bytes: Uint8Array; sha256: string; meta: JobMeta }> {
  const meta = await readJobMeta(jobDir);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JOB_BUNDLE_BYTES;
  const { bytes, sha256 } = await packFolder(jobDir, { label: JOB_BUNDLE_LABEL, maxBytes });
  return { bytes, sha256, meta };
}

/**
 * Everything a server or a site checks before it trusts a job bundle, in memory: the signature
 * (an admin of this project signed this hash: `verifyBundle`), then the bytes (they hash to it,
 * a safe zip whose files match `.info/CONTENT`: `readBundle`), then its meta.json. Throws the
 * first problem as a FedbridgeError.
 */
export function inspectJobBundle(
  bundle: SignedJobBundle,
  rootCaPem: string,
  options: JobBundleOptions = {},
): CheckedJobBundle {
  const signer = verifyBundle(
    bundle.sha256,
    bundle.signature,
    bundle.submitterCertPem,
    rootCaPem,
    options.now ? { now: options.now } : {},
  );
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JOB_BUNDLE_BYTES;
  const files = readBundle(bundle.bytes, bundle.sha256, { label: JOB_BUNDLE_LABEL, maxBytes });
  const metaBytes = files.get(JOB_META_FILE);
  if (!metaBytes) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${JOB_BUNDLE_LABEL} has no ${JOB_META_FILE} at its top`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(metaBytes));
  } catch (cause) {
    const message = `${JOB_BUNDLE_LABEL} ${JOB_META_FILE}: not valid JSON (${(cause as Error).message})`;
    throw new FedbridgeError(Code.InvalidArgument, message, { cause });
  }
  const meta = parseJobMeta(data, `${JOB_BUNDLE_LABEL} ${JOB_META_FILE}`);
  return { meta, signer, files };
}

/**
 * A site's step before it runs anything of a job: `inspectJobBundle`, then the files written to
 * `destDir` (staged and renamed into place when new). Returns the folder, meta and signer.
 */
export async function unpackJobBundle(
  bundle: SignedJobBundle,
  rootCaPem: string,
  destDir: string,
  options: JobBundleOptions = {},
): Promise<{ dir: string; meta: JobMeta; signer: BundleSigner }> {
  const { meta, signer, files } = inspectJobBundle(bundle, rootCaPem, options);
  const dir = await writeFolder(files, destDir, { label: JOB_BUNDLE_LABEL });
  return { dir, meta, signer };
}
