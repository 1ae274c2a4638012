/**
 * A provisioned project for the cell tests: a server, sites, an admin, and certificates that
 * must be refused (another CA's, an expired one, a name the project does not know), all
 * written to a temporary folder by the real provisioning code.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createCertificateAuthority,
  issueCertificate,
  loadCertificateAuthority,
} from "../../../core/security/certificates.ts";
import {
  CA_FILES,
  CA_FOLDER,
  type LoadedStartupKit,
  provisionProject,
  readStartupKit,
} from "../../provision/index.ts";

export type ServerKit = Extract<LoadedStartupKit, { type: "server" }>;
export type SiteKit = Extract<LoadedStartupKit, { type: "client" }>;

/** Certificate and key PEM a test dials with. */
export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

export interface TestProject {
  workspace: string;
  server: ServerKit;
  /** Kit folders by site name. */
  siteDirs: Record<string, string>;
  site(name: string): Promise<SiteKit>;
  adminDir: string;
  /** Site credentials that TLS or the project must refuse. */
  refused: {
    foreignCa: Credentials;
    expired: Credentials;
    unknownName: Credentials;
    /** A project certificate for the first site, but with another org (O) than its entry. */
    wrongOrg: Credentials;
    /** From another CA with the project CA's very name (a second project of the same name). */
    twinCa: Credentials;
  };
}

export async function provisionTestProject(sites = ["site-1", "site-2"]): Promise<TestProject> {
  const workspace = await mkdtemp(join(tmpdir(), "fedbridge-cell-"));
  const yml = [
    "name: cells",
    "participants:",
    "  - { name: server1, type: server, org: org-a, host: 127.0.0.1, port: 8002 }",
    ...sites.map((name) => `  - { name: ${name}, type: client, org: org-a }`),
    "  - { name: admin@org-a.com, type: admin, org: org-a, role: project_admin }",
  ].join("\n");
  await writeFile(join(workspace, "project.yml"), yml);
  const result = await provisionProject(join(workspace, "project.yml"), workspace);
  const dirOf = (name: string) => result.kits.find((k) => k.name === name)?.kit as string;
  const server = (await readStartupKit(dirOf("server1"))) as ServerKit;
  const projectCa = await loadCertificateAuthority(
    await readFile(join(result.dir, CA_FOLDER, CA_FILES.cert), "utf8"),
    await readFile(join(result.dir, CA_FOLDER, CA_FILES.key), "utf8"),
  );
  const otherCa = await createCertificateAuthority("another project's CA");
  const twinCa = await createCertificateAuthority("cells root CA");
  const siteSubject = {
    organization: "org-a",
    organizationalUnit: "client",
    usage: "client",
  } as const;
  const withCa = async (pem: Promise<{ certPem: string; keyPem: string }>) => {
    const { certPem, keyPem } = await pem;
    return { ca: server.rootCaPem, cert: certPem, key: keyPem };
  };
  return {
    workspace,
    server,
    siteDirs: Object.fromEntries(sites.map((name) => [name, dirOf(name)])),
    site: async (name) => (await readStartupKit(dirOf(name))) as SiteKit,
    adminDir: dirOf("admin@org-a.com"),
    refused: {
      foreignCa: await withCa(
        issueCertificate(otherCa, { ...siteSubject, commonName: sites[0] as string }),
      ),
      expired: await withCa(
        issueCertificate(projectCa, {
          ...siteSubject,
          commonName: sites[0] as string,
          notBefore: new Date(Date.now() - 10 * 86_400_000),
          validDays: 1,
        }),
      ),
      unknownName: await withCa(
        issueCertificate(projectCa, { ...siteSubject, commonName: "intruder" }),
      ),
      twinCa: await withCa(
        issueCertificate(twinCa, { ...siteSubject, commonName: sites[0] as string }),
      ),
      wrongOrg: await withCa(
        issueCertificate(projectCa, {
          ...siteSubject,
          organization: "org-z",
          commonName: sites[0] as string,
        }),
      ),
    },
  };
}
