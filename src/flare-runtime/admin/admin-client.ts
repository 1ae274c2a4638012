import {
  type Client,
  Code as ConnectCode,
  ConnectError,
  createClient,
  type Interceptor,
} from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { tlsTrustFailure } from "../../core/security/tls-trust.ts";
import { Admin } from "../../gen/fedbridge/v1/admin_pb.ts";
import type { AdminConfig } from "../provision/kit-config.ts";
import { readStartupKit } from "../provision/read-startup-kit.ts";

export type AdminClient = Client<typeof Admin>;

/** An admin's connection to the server: the admin API over mTLS with the kit's certificate. */
export interface AdminSession {
  client: AdminClient;
  config: AdminConfig;
  /** The admin's private key (PEM), to sign job bundles. */
  keyPem: string;
  certPem: string;
}

/** Opens the admin API of the server named in an admin startup kit. */
export async function connectAdmin(kitDir: string): Promise<AdminSession> {
  const kit = await readStartupKit(kitDir);
  if (kit.type !== "admin") {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${kitDir} is a ${kit.type} kit; admin commands need an admin's kit`,
    );
  }
  const { host, port } = kit.config.server;
  const transport = createGrpcTransport({
    baseUrl: `https://${host}:${port}`,
    interceptors: [explainTrustFailures(`${host}:${port}`)],
    nodeOptions: {
      ca: kit.rootCaPem,
      cert: kit.certPem,
      key: kit.keyPem,
      // The server is whoever holds the project's server certificate, whatever address it is reached at.
      checkServerIdentity: (_host, cert) =>
        cert.subject.CN === kit.config.server.name
          ? undefined
          : new FedbridgeError(
              Code.Unauthenticated,
              `the server presented ${cert.subject.CN}, not ${kit.config.server.name}`,
            ),
    },
  });
  return {
    client: createClient(Admin, transport),
    config: kit.config,
    keyPem: kit.keyPem,
    certPem: kit.certPem,
  };
}

/**
 * Turns a TLS trust failure, which reaches a caller as `certificate signature failure
 * [internal]`, into UNAUTHENTICATED with a line that says what is wrong: the kit is most likely
 * of another project, or of an earlier provisioning of this one.
 */
function explainTrustFailures(address: string): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      const explain = (message: string) =>
        new ConnectError(message, ConnectCode.Unauthenticated, undefined, undefined, error);
      switch (tlsTrustFailure(error)) {
        case "untrusted-peer":
          throw explain(`the server's certificate is not signed by this kit's CA (${address})`);
        case "refused-by-peer":
          throw explain(`the server does not accept this kit's certificate (${address})`);
      }
      throw error;
    }
  };
}
