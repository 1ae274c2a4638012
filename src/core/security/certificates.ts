import "reflect-metadata"; // @peculiar/x509 2.x resolves its parsers through tsyringe, which needs it
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { Code, FedbridgeError } from "../fedbridge-error.ts";

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
  /** The subject's O (organization), e.g. the participant's org. Default: none. */
  organization?: string;
  /** The subject's OU (organizational unit), e.g. the participant's role. Default: none. */
  organizationalUnit?: string;
  /** DNS names and IP addresses the certificate is valid for (servers). Default: none. */
  altNames?: readonly string[];
  /** What the certificate authenticates. Default: both. */
  usage?: "server" | "client" | "both";
  /** Default: 825 days, the longest browsers accept. */
  validDays?: number;
  /**
   * Start of validity. Default: a minute ago (tolerating small clock differences). A date in
   * the past with a short `validDays` makes an expired certificate, for tests of refusals.
   */
  notBefore?: Date;
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
    subject: subjectName(options),
    issuer: ca.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALGORITHM,
    ...validity(options.validDays ?? 825, options.notBefore),
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

/**
 * A CA read back from the PEM text `createCertificateAuthority` wrote, so more certificates
 * can be issued later. Refuses a certificate that is not a CA and a key that is not its own.
 */
export async function loadCertificateAuthority(
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> {
  let certificate: x509.X509Certificate;
  let privateKey: CryptoKey;
  try {
    certificate = new x509.X509Certificate(certPem);
    privateKey = await webcrypto.subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(keyPem),
      ALGORITHM,
      true,
      ["sign"],
    );
  } catch (error) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `not a PEM certificate and ECDSA P-256 key (${(error as Error).message})`,
      { cause: error },
    );
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${certificate.subject} is not a CA certificate`,
    );
  const probe = new TextEncoder().encode("fedbridge CA key check");
  const signature = await webcrypto.subtle.sign(ALGORITHM, privateKey, probe);
  const publicKey = await certificate.publicKey.export(ALGORITHM, ["verify"]);
  if (!(await webcrypto.subtle.verify(ALGORITHM, publicKey, signature, probe)))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `the CA key does not belong to ${certificate.subject}`,
    );
  return { certificate, privateKey, certPem: certificate.toString("pem"), keyPem };
}

/** O, OU and CN as a JSON name, so no character of a name needs escaping. */
function subjectName(options: IssueOptions): x509.JsonName {
  return [
    ...(options.organization !== undefined ? [{ O: [options.organization] }] : []),
    ...(options.organizationalUnit !== undefined ? [{ OU: [options.organizationalUnit] }] : []),
    { CN: [options.commonName] },
  ];
}

async function keyToPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

function validity(days: number, notBefore = new Date(Date.now() - 60_000)) {
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "7");
}
