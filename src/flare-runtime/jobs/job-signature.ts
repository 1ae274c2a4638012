import { sign, verify, X509Certificate } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ADMIN_ROLES, type AdminRole } from "../provision/kit-config.ts";

/**
 * What is signed: the bundle's hash behind a fixed prefix, so a signature over a job bundle can
 * never be replayed as a signature over anything else the same key signs.
 */
const CONTEXT = "fedbridge job bundle v1\n";

/** The admin a bundle signature was verified to come from, from their certificate's subject. */
export interface BundleSigner {
  name: string;
  org: string;
  role: AdminRole;
}

export interface VerifyBundleOptions {
  /** When the certificates must be valid; default now. */
  now?: Date;
}

/**
 * Signs a job bundle's SHA-256 with the submitting admin's key (ECDSA P-256 with SHA-256, DER,
 * base64), so every site can check who sent the code it is about to run, whoever relayed it.
 *
 * @example
 * const signature = signBundle(bundle.sha256, kit.keyPem);
 */
export function signBundle(sha256Hex: string, adminKeyPem: string): string {
  const message = signedMessage(sha256Hex);
  try {
    return sign("sha256", message, { key: adminKeyPem, dsaEncoding: "der" }).toString("base64");
  } catch (cause) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `cannot sign the job bundle: the admin key is not a usable private key (${(cause as Error).message})`,
      { cause },
    );
  }
}

/**
 * Checks that `signature` is an admin's signature of the bundle hash: the certificate chains to
 * the project's root CA and is valid now (else Unauthenticated), it is an admin certificate
 * (subject `O=org, OU=role, CN=name` with an admin role; a site's or the server's is
 * PermissionDenied), and the signature matches the hash under its key (else Unauthenticated: the
 * bundle is not what that admin signed). Returns who signed.
 */
export function verifyBundle(
  sha256Hex: string,
  signature: string,
  adminCertPem: string,
  rootCaPem: string,
  options: VerifyBundleOptions = {},
): BundleSigner {
  const now = options.now ?? new Date();
  const ca = parse(rootCaPem, "root CA certificate");
  const cert = parse(adminCertPem, "signer certificate");
  const subject = fields(cert.subject);
  const who = subject.CN ?? "(no CN)";
  const refuse = (message: string) =>
    new FedbridgeError(Code.Unauthenticated, `job bundle signer ${who}: ${message}`);
  if (!ca.ca) throw refuse("the trusted root is not a CA certificate");
  if (!cert.verify(ca.publicKey) || cert.issuer !== ca.subject)
    throw refuse("the certificate is not issued by the project's root CA");
  for (const [what, c] of [
    ["certificate", cert],
    ["root CA certificate", ca],
  ] as const) {
    if (now < new Date(c.validFrom)) throw refuse(`the ${what} is not valid before ${c.validFrom}`);
    if (now > new Date(c.validTo)) throw refuse(`the ${what} expired on ${c.validTo}`);
  }
  const role = subject.OU;
  if (!isAdminRole(role) || subject.CN === undefined || subject.O === undefined) {
    throw new FedbridgeError(
      Code.PermissionDenied,
      `job bundle signer ${who}: not an admin certificate (OU=${role ?? "none"}); only admins submit jobs`,
    );
  }
  const message = signedMessage(sha256Hex);
  let valid: boolean;
  try {
    const der = Buffer.from(signature, "base64");
    valid = verify("sha256", message, { key: cert.publicKey, dsaEncoding: "der" }, der);
  } catch {
    valid = false;
  }
  if (!valid) throw refuse(`the signature does not match job bundle ${sha256Hex}`);
  return { name: subject.CN, org: subject.O, role };
}

function signedMessage(sha256Hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(sha256Hex)) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `not a SHA-256 in hex (64 hex digits): ${JSON.stringify(sha256Hex.slice(0, 80))}`,
    );
  }
  return Buffer.from(CONTEXT + sha256Hex.toLowerCase());
}

function parse(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new FedbridgeError(Code.Unauthenticated, `the ${what} is not a PEM certificate`, {
      cause,
    });
  }
}

/** Node's one-attribute-per-line subject (`O=org-a\nOU=lead\nCN=x`), as a map. */
function fields(subject: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of subject.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

function isAdminRole(role: string | undefined): role is AdminRole {
  return (ADMIN_ROLES as readonly (string | undefined)[]).includes(role);
}
