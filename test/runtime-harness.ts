import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../src/core/free-port.ts";
import { localProjectYml, type PrivacyPolicy } from "../src/flare-runtime/provision/index.ts";
import { type FedbridgeProcess, startFedbridge } from "./processes.ts";

export { freePort };

import { runFedbridge } from "./run-fedbridge.ts";

/** A provisioned runtime on loopback: a server parent and `siteCount` site parents, running. */
export interface TestRuntime {
  root: string;
  /** The project's kits, by participant name. */
  kits: string;
  server: FedbridgeProcess;
  /** Starts the server parent again (after the test killed it); `server` is the new one. */
  restartServer(): Promise<FedbridgeProcess>;
  sites: Map<string, FedbridgeProcess>;
  startSite(name: string): FedbridgeProcess;
  /**
   * `fedbridge admin --kit <admin> ...` as the project admin (or `as` another admin), killed
   * after `timeoutMs` (default: runFedbridge's).
   */
  admin(args: string[], as?: string, timeoutMs?: number): ReturnType<typeof runFedbridge>;
}

/**
 * Provisions `projectSites` sites (default: as many as are started) and starts `siteCount`
 * site parents; 0 starts none, for tests that run sites their own way (e.g. the bridge).
 */
export async function startTestRuntime(
  siteCount = 3,
  projectSites = Math.max(siteCount, 3),
  options: { beforeSitesStart?: (kits: string) => Promise<void> } = {},
): Promise<TestRuntime> {
  const root = await mkdtemp(join(tmpdir(), "fedbridge-runtime-"));
  const port = await freePort();
  const siteNames = Array.from({ length: projectSites }, (_, i) => `site-${i + 1}`);
  const siteEntries = siteNames.map((name, i) => ({ name, org: i % 2 ? "org-b" : "org-a" }));
  const admins = [
    { name: "admin@org-a.com", org: "org-a", role: "project_admin" },
    { name: "member@org-b.com", org: "org-b", role: "member" },
  ];
  await writeFile(join(root, "project.yml"), localProjectYml("demo", port, siteEntries, admins));
  const provisioned = await runFedbridge([
    "provision",
    join(root, "project.yml"),
    "-o",
    join(root, "ws"),
  ]);
  if (provisioned.code !== 0) throw new Error(`provision failed: ${provisioned.stderr}`);
  const kits = join(root, "ws", "demo");
  const startServer = async () => {
    const server = startFedbridge([
      "server",
      "--kit",
      join(kits, "server1"),
      "--heartbeat-interval",
      "1",
    ]);
    await server.waitFor(/listening on port/);
    return server;
  };
  const server = await startServer();
  const sites = new Map<string, FedbridgeProcess>();
  const startSite = (name: string) => {
    const site = startFedbridge(["client", "--kit", join(kits, name)]);
    sites.set(name, site);
    return site;
  };
  await options.beforeSitesStart?.(kits);
  for (const name of siteNames.slice(0, siteCount)) startSite(name);
  await Promise.all([...sites.values()].map((s) => s.waitFor(/connected to server1/)));
  const runtime: TestRuntime = {
    root,
    kits,
    server,
    async restartServer() {
      runtime.server = await startServer();
      return runtime.server;
    },
    sites,
    startSite,
    admin: (args, as = "admin@org-a.com", timeoutMs?: number) =>
      runFedbridge(["admin", "--kit", join(kits, as), ...args], timeoutMs),
  };
  return runtime;
}

/** Changes a site's privacy.json (before the site starts: a site reads it once). */
export async function editPrivacy(
  kits: string,
  site: string,
  edit: (policy: PrivacyPolicy) => void,
): Promise<void> {
  const file = join(kits, site, "privacy.json");
  const policy = JSON.parse(await readFile(file, "utf8")) as PrivacyPolicy;
  edit(policy);
  await writeFile(file, JSON.stringify(policy));
}

/** Makes a site's default privacy scope drop the arrays named (ExcludeVars on its results). */
export function excludeAtSite(kits: string, site: string, names: string[]): Promise<void> {
  return editPrivacy(kits, site, (policy) => {
    const scope = policy.scopes[policy.defaultScope];
    if (scope) scope.taskResultFilters = [{ name: "ExcludeVars", args: { exclude: names } }];
  });
}
