import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  issueCertificate,
  loadCertificateAuthority,
} from "./certificates.ts";

describe("certificates", () => {
  it("puts O and OU in the subject when asked, and only CN otherwise", async () => {
    const ca = await createCertificateAuthority("test CA");
    const withOrg = await issueCertificate(ca, {
      commonName: "a@b.com",
      organization: "org, with a comma",
      organizationalUnit: "lead",
    });
    // Node escapes the comma when it prints the subject; the value itself is intact.
    expect(new X509Certificate(withOrg.certPem).subject).toBe(
      "O=org\\, with a comma\nOU=lead\nCN=a@b.com",
    );
    const plain = await issueCertificate(ca, { commonName: "node" });
    expect(new X509Certificate(plain.certPem).subject).toBe("CN=node");
  });

  it("loads a CA back from its PEM text and issues certificates that chain to it", async () => {
    const ca = await createCertificateAuthority("test CA");
    const loaded = await loadCertificateAuthority(ca.certPem, ca.keyPem);
    const issued = await issueCertificate(loaded, { commonName: "site-1", usage: "client" });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.issuer).toBe("CN=test CA");
  });

  it("refuses a key that is not the CA's, a leaf certificate and text that is not PEM", async () => {
    const ca = await createCertificateAuthority("test CA");
    const other = await createCertificateAuthority("other CA");
    await expect(loadCertificateAuthority(ca.certPem, other.keyPem)).rejects.toThrow(
      "the CA key does not belong to CN=test CA",
    );
    const leaf = await issueCertificate(ca, { commonName: "site-1" });
    await expect(loadCertificateAuthority(leaf.certPem, leaf.keyPem)).rejects.toThrow(
      "CN=site-1 is not a CA certificate",
    );
    await expect(loadCertificateAuthority("nonsense", ca.keyPem)).rejects.toThrow(
      /not a PEM certificate and ECDSA P-256 key/,
    );
  });
});
