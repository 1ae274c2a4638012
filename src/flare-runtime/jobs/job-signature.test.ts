import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { KIT_FILES } from "../provision/kit-config.ts";
import { provisionProject } from "../provision/provision.ts";
import { signBundle, verifyBundle } from "./job-signature.ts";

interface Kit {
  certPem: string;
  keyPem: string;
  rootCaPem: string;
}

const project = (name: string) => `
name: ${name}
participants:
  - { name: server1, type: server, org: org-a }
  - { name: site-1, type: client, org: org-a }
  - { name: lead@org-b.com, type: admin, org: org-b, role: lead }
`;

/** The FedbridgeError `fn` throws. */
function failure(fn: () => unknown): FedbridgeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FedbridgeError);
    return error as FedbridgeError;
  }
  throw new Error("did not throw");
}

describe("job bundle signatures", () => {
  let tmp: string;
  const kits: Record<string, Kit> = {};
  const hash = createHash("sha256").update("a job bundle").digest("hex");

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "job-signature-"));
    for (const name of ["demo", "other"]) {
      await writeFile(join(tmp, `${name}.yml`), project(name));
      const { kits: written } = await provisionProject(join(tmp, `${name}.yml`), tmp);
      for (const kit of written) {
        const read = (file: string) => readFile(join(kit.kit, file), "utf8");
        kits[`${name}/${kit.name}`] = {
          certPem: await read(KIT_FILES.cert),
          keyPem: await read(KIT_FILES.key),
          rootCaPem: await read(KIT_FILES.rootCa),
        };
      }
    }
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  const kit = (name: string): Kit => {
    const found = kits[name];
    if (!found) throw new Error(`no kit ${name}`);
    return found;
  };

  it("verifies an admin's signature and names the signer", () => {
    const admin = kit("demo/lead@org-b.com");
    const signature = signBundle(hash, admin.keyPem);
    expect(Buffer.from(signature, "base64")[0]).toBe(0x30); // a DER SEQUENCE
    expect(verifyBundle(hash, signature, admin.certPem, admin.rootCaPem)).toEqual({
      name: "lead@org-b.com",
      org: "org-b",
      role: "lead",
    });
    // Hex case does not matter: the hash is the same.
    expect(verifyBundle(hash.toUpperCase(), signature, admin.certPem, admin.rootCaPem).name).toBe(
      "lead@org-b.com",
    );
  });

  it("refuses a tampered hash or signature", () => {
    const admin = kit("demo/lead@org-b.com");
    const signature = signBundle(hash, admin.keyPem);
    const other = createHash("sha256").update("another bundle").digest("hex");
    const tampered = failure(() => verifyBundle(other, signature, admin.certPem, admin.rootCaPem));
    expect(tampered.code).toBe(Code.Unauthenticated);
    expect(tampered.message).toBe(
      `job bundle signer lead@org-b.com: the signature does not match job bundle ${other}`,
    );
    const garbage = failure(() => verifyBundle(hash, "AAAA", admin.certPem, admin.rootCaPem));
    expect(garbage.code).toBe(Code.Unauthenticated);
    expect(failure(() => verifyBundle("abc", signature, admin.certPem, admin.rootCaPem)).code).toBe(
      Code.InvalidArgument,
    );
  });

  it("refuses a certificate from another CA", () => {
    const stranger = kit("other/lead@org-b.com");
    const signature = signBundle(hash, stranger.keyPem);
    const error = failure(() =>
      verifyBundle(hash, signature, stranger.certPem, kit("demo/server1").rootCaPem),
    );
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.message).toMatch(/not issued by the project's root CA/);
  });

  it("refuses a site's certificate: only admins submit jobs", () => {
    const site = kit("demo/site-1");
    const signature = signBundle(hash, site.keyPem);
    const error = failure(() => verifyBundle(hash, signature, site.certPem, site.rootCaPem));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.message).toMatch(/site-1: not an admin certificate \(OU=client\)/);
  });

  it("refuses an expired or not yet valid certificate", () => {
    const admin = kit("demo/lead@org-b.com");
    const signature = signBundle(hash, admin.keyPem);
    const at = (now: Date) =>
      failure(() => verifyBundle(hash, signature, admin.certPem, admin.rootCaPem, { now }));
    const later = at(new Date(Date.now() + 900 * 86_400_000));
    expect(later.code).toBe(Code.Unauthenticated);
    expect(later.message).toMatch(/the certificate expired on/);
    expect(at(new Date(Date.now() - 86_400_000)).message).toMatch(/not valid before/);
  });

  it("refuses keys and certificates that are not PEM", () => {
    expect(failure(() => signBundle(hash, "not a key")).code).toBe(Code.InvalidArgument);
    const admin = kit("demo/lead@org-b.com");
    const error = failure(() => verifyBundle(hash, "AAAA", "nope", admin.rootCaPem));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.message).toBe("the signer certificate is not a PEM certificate");
  });
});
