import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { checkConfigOverrides, typeConfig } from "../../core/typed-config.ts";
import type { JobInfo } from "../../gen/fedbridge/v1/admin_pb.ts";
import { packJob } from "../jobs/job-bundle.ts";
import { JOB_META_FILE, RUNTIME_CONFIG_KEYS } from "../jobs/job-meta.ts";
import { signBundle } from "../jobs/job-signature.ts";
import type { AdminSession } from "./admin-client.ts";

/**
 * Checks a job folder's meta.json, packs the folder, signs the bundle's SHA-256 with the
 * admin's key (sites check that signature before running anything) and submits it. Problems
 * with the folder, or overrides that meta.json's `config` does not allow (an unknown key, a
 * value of another type than the key's default), are reported before anything is sent.
 */
export async function submitJob(
  session: AdminSession,
  jobDir: string,
  overrides: Record<string, unknown> = {},
  overridesLabel = "config overrides",
): Promise<JobInfo> {
  const bundle = await packJob(jobDir);
  const metaText = await readFile(join(jobDir, JOB_META_FILE), "utf8");
  checkConfigOverrides(
    typeConfig(bundle.meta.config, metaText, ["config"]),
    overrides,
    { where: overridesLabel, owner: "job" },
    RUNTIME_CONFIG_KEYS,
  );
  return session.client.submitJob({
    bundle: bundle.bytes,
    bundleSha256: bundle.sha256,
    signature: signBundle(bundle.sha256, session.keyPem),
    configOverridesJson: JSON.stringify(overrides),
    submitterCertPem: session.certPem,
  });
}
