import type { JobInfo } from "../../gen/fedbridge/v1/admin_pb.ts";
import { packJob } from "../jobs/job-bundle.ts";
import { signBundle } from "../jobs/job-signature.ts";
import type { AdminSession } from "./admin-client.ts";

/**
 * Checks a job folder's meta.json, packs the folder, signs the bundle's SHA-256 with the
 * admin's key (sites check that signature before running anything) and submits it. Problems
 * with the folder are reported before anything is sent.
 */
export async function submitJob(
  session: AdminSession,
  jobDir: string,
  overrides: Record<string, unknown> = {},
): Promise<JobInfo> {
  const bundle = await packJob(jobDir);
  return session.client.submitJob({
    bundle: bundle.bytes,
    bundleSha256: bundle.sha256,
    signature: signBundle(bundle.sha256, session.keyPem),
    configOverridesJson: JSON.stringify(overrides),
    submitterCertPem: session.certPem,
  });
}
