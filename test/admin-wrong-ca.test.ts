import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../src/core/free-port.ts";
import { localProjectYml } from "../src/flare-runtime/provision/index.ts";
import { killAll, startFedbridge } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";

// An admin kit issued by another CA, pointed at a running server: a kit of another project,
// and one of the same project provisioned again (same names, a new CA).

afterAll(killAll);

let root: string;
let port: number;
const ADMIN = "admin@org-a.com";

/** Provisions project `name` (one site, one admin, the server on `port`) under `root/dir`. */
async function provision(name: string, dir: string): Promise<string> {
  const yml = join(root, `${dir}.yml`);
  const admins = [{ name: ADMIN, org: "org-a", role: "project_admin" }];
  await writeFile(yml, localProjectYml(name, port, [{ name: "site-1", org: "org-a" }], admins));
  const provisioned = await runFedbridge(["provision", yml, "-o", join(root, dir)]);
  if (provisioned.code !== 0) throw new Error(`provision failed: ${provisioned.stderr}`);
  return join(root, dir, name);
}

let kits: { own: string; reprovisioned: string; otherProject: string };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "fedbridge-wrong-ca-"));
  port = await freePort();
  const [own, reprovisioned, otherProject] = await Promise.all([
    provision("demo", "first"),
    provision("demo", "again"),
    provision("other", "other"),
  ]);
  kits = { own, reprovisioned, otherProject };
  const server = startFedbridge(["server", "--kit", join(own, "server1")]);
  await server.waitFor(/listening on port/);
}, 120_000);

describe("fedbridge admin with a kit of another CA", () => {
  it("its own project's kit is served", async () => {
    const sites = await runFedbridge(["admin", "--kit", join(kits.own, ADMIN), "sites"]);
    expect(sites.code, sites.stderr).toBe(0);
    expect(sites.stdout).toMatch(/site-1/);
  });

  it.each([
    ["the same project provisioned again", "reprovisioned"],
    ["another project", "otherProject"],
  ] as const)("%s: says the server's certificate is not signed by the kit's CA", async (_, kit) => {
    const sites = await runFedbridge(["admin", "--kit", join(kits[kit], ADMIN), "sites"]);
    expect(sites.code).not.toBe(0);
    expect(sites.stdout).toBe("");
    expect(sites.stderr).toBe(
      `fedbridge: the server's certificate is not signed by this kit's CA (127.0.0.1:${port}) [unauthenticated]\n`,
    );
  });
});
