import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { CA_FOLDER, KIT_FILES } from "./kit-config.ts";
import { type ProvisionResult, provisionProject } from "./provision.ts";
import { readStartupKit } from "./read-startup-kit.ts";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

const PROJECT = `
name: demo
participants:
  - { name: server1, type: server, org: org-a, host: fl.example.com, port: 9000 }
  - { name: site-1, type: client, org: org-a }
  - { name: site-2, type: client, org: org-b, resources: { gpus: 2, memoryGb: 16 }, nodeConfig: { data-path: /data/b, partition-id: 4 } }
  - { name: admin@org-a.com, type: admin, org: org-a, role: project_admin }
  - { name: bob@org-b.com, type: admin, org: org-b, role: member }
`;

async function provision(yml: string, force = false) {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-provision-"));
  await writeFile(join(dir, "project.yml"), yml);
  const run = (f = force) =>
    provisionProject(join(dir, "project.yml"), join(dir, "ws"), { force: f });
  return { dir, result: await run(), again: run };
}

interface Kit {
  cert: string;
  key: string;
  ca: string;
}
const kit = async (dir: string): Promise<Kit> => ({
  cert: await readFile(join(dir, KIT_FILES.cert), "utf8"),
  key: await readFile(join(dir, KIT_FILES.key), "utf8"),
  ca: await readFile(join(dir, KIT_FILES.rootCa), "utf8"),
});

/**
 * `CN=<client>` when the server accepted the client's certificate in an mTLS handshake on
 * loopback; otherwise how the client saw the refusal (an error, or the connection closed).
 */
async function handshake(server: Kit, client: Kit): Promise<string> {
  const listener = tls.createServer(
    { ...server, requestCert: true, rejectUnauthorized: true },
    (socket) => socket.end(`CN=${socket.getPeerCertificate().subject.CN}`),
  );
  listener.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as { port: number };
  try {
    return await new Promise<string>((resolve) => {
      let data = "";
      const socket = tls.connect({ host: "127.0.0.1", port, ...client });
      socket.on("data", (chunk) => {
        data += chunk;
      });
      socket.on("end", () => resolve(data || "closed"));
      socket.on("error", (error) => resolve(`error: ${error.message}`));
    });
  } finally {
    listener.close();
  }
}

describe("provisionProject", () => {
  let dir: string;
  let result: ProvisionResult;
  let again: (force?: boolean) => Promise<ProvisionResult>;
  beforeAll(async () => {
    ({ dir, result, again } = await provision(PROJECT));
  });

  it("writes one kit per participant with its files, keys readable by the owner only", async () => {
    const ws = join(dir, "ws", "demo");
    expect(result.kits.map(({ name, type }) => `${type}:${name}`)).toEqual([
      "server:server1",
      "client:site-1",
      "client:site-2",
      "admin:admin@org-a.com",
      "admin:bob@org-b.com",
    ]);
    expect((await readdir(ws)).sort()).toEqual(
      [CA_FOLDER, "server1", "site-1", "site-2", "admin@org-a.com", "bob@org-b.com"].sort(),
    );
    const common = [KIT_FILES.rootCa, KIT_FILES.cert, KIT_FILES.key, KIT_FILES.readme];
    const expected = {
      server: [...common, KIT_FILES.server, KIT_FILES.authorization],
      client: [...common, KIT_FILES.client, KIT_FILES.resources, KIT_FILES.privacy],
      admin: [...common, KIT_FILES.admin],
    };
    for (const k of result.kits) {
      expect(k.kit).toBe(join(ws, k.name));
      // site-2 has a nodeConfig in project.yml, so a node-config.json too.
      const files = [...expected[k.type], ...(k.name === "site-2" ? [KIT_FILES.nodeConfig] : [])];
      expect((await readdir(k.kit)).sort()).toEqual(files.sort());
      expect((await stat(join(k.kit, KIT_FILES.key))).mode & 0o777).toBe(0o600);
    }
    expect((await stat(join(ws, CA_FOLDER, "rootCA.key"))).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, "ws"))).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("issues certificates that chain to the root CA, with the right subject, SANs and usages", async () => {
    const root = new X509Certificate(await readFile(join(result.dir, CA_FOLDER, "rootCA.pem")));
    const expected: Record<string, [string, string[], string | undefined]> = {
      server1: [
        "O=org-a\nOU=server\nCN=server1",
        [SERVER_AUTH, CLIENT_AUTH],
        "DNS:fl.example.com, DNS:localhost, IP Address:127.0.0.1",
      ],
      "site-1": ["O=org-a\nOU=client\nCN=site-1", [CLIENT_AUTH], undefined],
      "site-2": ["O=org-b\nOU=client\nCN=site-2", [CLIENT_AUTH], undefined],
      "admin@org-a.com": [
        "O=org-a\nOU=project_admin\nCN=admin@org-a.com",
        [CLIENT_AUTH],
        undefined,
      ],
      "bob@org-b.com": ["O=org-b\nOU=member\nCN=bob@org-b.com", [CLIENT_AUTH], undefined],
    };
    for (const k of result.kits) {
      const { cert, key, ca } = await kit(k.kit);
      const x = new X509Certificate(cert);
      expect(ca).toBe(root.toString());
      expect(x.checkIssued(root) && x.verify(root.publicKey)).toBe(true);
      expect(x.checkPrivateKey(createPrivateKey(key))).toBe(true);
      expect(x.ca).toBe(false);
      const [subject, usages, san] = expected[k.name] ?? [];
      expect(x.subject).toBe(subject);
      expect(x.keyUsage).toEqual(usages);
      expect(x.subjectAltName).toBe(san);
    }
  });

  it("writes configs a kit reader reads back", async () => {
    const [server, site1, site2, admin] = await Promise.all(
      result.kits.slice(0, 4).map((k) => readStartupKit(k.kit)),
    );
    expect(server?.type === "server" && server.config).toMatchObject({
      project: "demo",
      name: "server1",
      host: "fl.example.com",
      port: 9000,
    });
    expect(server?.type === "server" && server.config.participants).toContainEqual({
      name: "bob@org-b.com",
      type: "admin",
      org: "org-b",
      role: "member",
    });
    expect(server?.type === "server" && server.authorization.permissions.project_admin).toBe("any");
    const address = { name: "server1", host: "fl.example.com", port: 9000 };
    expect(site1?.type === "client" && site1.config).toMatchObject({
      name: "site-1",
      server: address,
    });
    expect(site1?.type === "client" && site1.resources).toEqual({
      formatVersion: 1,
      gpus: 0,
      memoryGb: 8,
      maxJobs: 4,
    });
    expect(site2?.type === "client" && site2.resources).toMatchObject({ gpus: 2, memoryGb: 16 });
    expect(site2?.type === "client" && site2.privacy.defaultScope).toBe("public");
    // project.yml's nodeConfig becomes the kit's node-config.json; a site without one has none.
    expect(site2?.type === "client" && site2.nodeConfig).toEqual({
      "data-path": "/data/b",
      "partition-id": 4,
    });
    expect(site1?.type === "client" && site1.nodeConfig).toEqual({});
    expect(admin?.type === "admin" && admin.config).toMatchObject({
      role: "project_admin",
      server: address,
    });
  });

  it("lets a site and the server complete a mutual TLS handshake; another project's certificates fail", async () => {
    const [server, site] = await Promise.all([
      kit(result.kits[0]?.kit ?? ""),
      kit(result.kits[1]?.kit ?? ""),
    ]);
    expect(await handshake(server, site)).toBe("CN=site-1");
    const other = await provision(PROJECT);
    const [otherServer, otherSite] = await Promise.all([
      kit(other.result.kits[0]?.kit ?? ""),
      kit(other.result.kits[1]?.kit ?? ""),
    ]);
    // A site of another project, trusting our CA: our server refuses its certificate.
    expect(await handshake(server, { ...otherSite, ca: site.ca })).not.toMatch(/^CN=/);
    // Our site refuses a server whose certificate another CA issued.
    expect(await handshake({ ...otherServer, ca: site.ca }, site)).toMatch(/^error: /);
    // No client certificate at all.
    expect(await handshake(server, { ...site, cert: "", key: "" })).not.toMatch(/^CN=/);
  });

  it("refuses an existing project; with force, issues the kits again with the same CA", async () => {
    await expect(again(false)).rejects.toThrow(/demo already exists \(use --force/);
    const before = await kit(result.kits[1]?.kit ?? "");
    const jobs = join(result.kits[0]?.kit ?? "", "jobs.db");
    await writeFile(jobs, "runtime data");
    const forced = await again(true);
    expect(forced.reusedCa).toBe(true);
    const after = await kit(forced.kits[1]?.kit ?? "");
    expect(after.ca).toBe(before.ca);
    expect(after.cert).not.toBe(before.cert);
    expect(await readFile(jobs, "utf8")).toBe("runtime data");
    // A kit handed out before still chains to the kept CA.
    expect(new X509Certificate(before.cert).verify(new X509Certificate(after.ca).publicKey)).toBe(
      true,
    );
  });

  it("leaves nothing behind when the project is invalid or the workspace cannot be written", async () => {
    const bad = await mkdtemp(join(tmpdir(), "fedbridge-provision-"));
    await writeFile(join(bad, "project.yml"), "name: demo\nparticipants: []\n");
    await expect(provisionProject(join(bad, "project.yml"), join(bad, "ws"))).rejects.toThrow(
      /participants must list at least a server/,
    );
    expect(await readdir(bad)).toEqual(["project.yml"]);
    await writeFile(join(bad, "project.yml"), PROJECT);
    await writeFile(join(bad, "ws"), "a file, not a folder");
    await expect(provisionProject(join(bad, "project.yml"), join(bad, "ws"))).rejects.toThrow();
    expect((await readdir(bad)).sort()).toEqual(["project.yml", "ws"]);
  });
});
