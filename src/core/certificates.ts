import "reflect-metadata"; // @peculiar/x509 2.x resolves its parsers through tsyringe, which needs it
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A certificate and its private key, as PEM text. */
export interface CertificatePem {
  certPem: string;
  keyPem: string;
}

/** A certificate authority that can issue certificates. */
export interface CertificateAuthority extends CertificatePem {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for (servers). Default: none. */
  altNames?: readonly string[];
  /** What the certificate authenticates. Default: both. */
  usage?: "server" | "client" | "both";
  /** Default: 825 days, the longest browsers accept. */
  validDays?: number;
}

/** A self-signed ECDSA P-256 root CA. */
export async function createCertificateAuthority(
  commonName: string,
  validDays = 3650,
): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: ALGORITHM,
    ...validity(validDays),
    serialNumber: serial(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificate,
    privateKey: keys.privateKey,
    certPem: certificate.toString("pem"),
    keyPem: await keyToPem(keys.privateKey),
  };
}

/** A certificate signed by `ca` for a fresh key pair. */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueOptions,
): Promise<CertificatePem> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const usage = options.usage ?? "both";
  const purposes = [
    ...(usage !== "client" ? [x509.ExtendedKeyUsage.serverAuth] : []),
    ...(usage !== "server" ? [x509.ExtendedKeyUsage.clientAuth] : []),
  ];
  const altNames = (options.altNames ?? []).map((name) =>
    /^[\d.]+$|:/.test(name)
      ? { type: "ip" as const, value: name }
      : { type: "dns" as const, value: name },
  );
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.commonName}`,
    issuer: ca.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    ...validity(options.validDays ?? 825),
    serialNumber: serial(),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(purposes),
      ...(altNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(altNames)] : []),
    ],
  });
  return { certPem: certificate.toString("pem"), keyPem: await keyToPem(keys.privateKey) };
}

async function keyToPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

function validity(days: number) {
  const notBefore = new Date(Date.now() - 60_000); // tolerate small clock differences
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "7");
}
