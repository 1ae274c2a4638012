import { packFolder } from "../core/folder-bundle.ts";
import type { AdminSession } from "../flare-runtime/admin/admin-client.ts";
import {
  JOB_META_FILE,
  parseJobMeta,
  RUNTIME_CONFIG_KEYS,
} from "../flare-runtime/jobs/job-meta.ts";
import { signBundle } from "../flare-runtime/jobs/job-signature.ts";
import { readAppManifest } from "../flower-api/app/load-app.ts";
import { checkRunConfig } from "../flower-api/app/run-config.ts";
import { bundlePyproject } from "../flower-api/fab/flower-pyproject.ts";
import type { JobInfo } from "../gen/fedbridge/v1/admin_pb.ts";

/**
 * Wraps a Flower-style app folder as a runtime job and submits it: meta.json is made from the
 * app (runner `flower`, every site, the app's config as the job's config) and packed with the
 * app's files and a pyproject.toml (the app's own, or one generated: see `bundlePyproject`), so
 * the folder itself stays unchanged. `min-available-nodes` in the app's config,
 * if any, sets the job's minimum number of sites (default 2, FedAvg's default). Overrides are
 * checked against the app's config first (`checkRunConfig`): a bad one is refused here, not
 * when the job runs.
 */
export async function submitApp(
  session: AdminSession,
  appDir: string,
  overrides: Record<string, unknown> = {},
  overridesLabel = "run config",
): Promise<JobInfo> {
  const manifest = await readAppManifest(appDir);
  checkRunConfig(manifest, overrides, overridesLabel, RUNTIME_CONFIG_KEYS);
  const config: Record<string, unknown> = { ...manifest.config, seed: 0, ...overrides };
  const meta = parseJobMeta(
    {
      name: manifest.name,
      app: "flower",
      deployMap: ["@ALL"],
      minSites: Number(config["min-available-nodes"] ?? 2),
      config,
    },
    `${appDir} (as a job)`,
  );
  // A site's shim serves the bundle to Flower SuperNodes as the FAB: it carries a pyproject.toml.
  const { extraFiles } = await bundlePyproject(manifest);
  const bundle = await packFolder(manifest.dir, {
    label: "job bundle",
    extraFiles: {
      ...extraFiles,
      [JOB_META_FILE]: new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`),
    },
  });
  return session.client.submitJob({
    bundle: bundle.bytes,
    bundleSha256: bundle.sha256,
    signature: signBundle(bundle.sha256, session.keyPem),
    configOverridesJson: "{}",
    submitterCertPem: session.certPem,
  });
}

/** Whether a folder is a Flower-style app (package.json with a `fedbridge` field). */
export async function isAppFolder(dir: string): Promise<boolean> {
  return readAppManifest(dir).then(
    () => true,
    () => false,
  );
}
