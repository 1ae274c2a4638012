/**
 * TLS files for a SuperLink on this machine, as tests and benchmarks need them: a fresh CA, and
 * a certificate for "localhost" and 127.0.0.1 that it signed. Nodes dial "localhost" (Node
 * warns when a TLS server name is an IP address).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  createCertificateAuthority,
  issueCertificate,
} from "../../../core/security/certificates.ts";

/** PEM files: the SuperLink's certificate and key, and the CA its nodes trust. */
export interface SuperLinkTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Writes `ca.pem`, `server.pem` and `server.key` to `dir`. */
export async function writeSuperLinkTls(dir: string): Promise<SuperLinkTls> {
  const ca = await createCertificateAuthority("fedbridge local CA");
  const server = await issueCertificate(ca, {
    commonName: "superlink",
    altNames: ["localhost", "127.0.0.1"],
    usage: "server",
  });
  const file = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };
  return {
    caFile: await file("ca.pem", ca.certPem),
    certFile: await file("server.pem", server.certPem),
    keyFile: await file("server.key", server.keyPem),
  };
}
