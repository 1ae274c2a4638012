/**
 * Who is on the other end of an mTLS connection, and whether the project lets them in.
 * Identity is the client certificate's subject: CN is the participant's name, OU its role
 * (`client` for sites, the admin role for admins), as provisioning writes them. TLS has
 * already checked the chain to the project's root CA and the validity dates; this checks the
 * name against the project, the second gate.
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";
import { createContextKey, createContextValues } from "@connectrpc/connect";
import { Code, codeName, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { ParticipantEntry, ParticipantType } from "../provision/index.ts";
import type { CellLogger } from "./cell-logger.ts";

/** The subject of a verified client certificate. */
export interface PeerIdentity {
  commonName: string;
  organization: string | undefined;
  organizationalUnit: string | undefined;
  remoteAddress: string | undefined;
}

/** Where a request's peer identity lives among a Connect handler's context values. */
export const peerIdentityKey = createContextKey<PeerIdentity | undefined>(undefined, {
  description: "fedbridge mTLS peer identity",
});

/**
 * The identity of a TLS socket's verified peer, or undefined when it presented no certificate
 * or one TLS did not accept (which `rejectUnauthorized` already refuses).
 */
export function peerIdentityOf(socket: TLSSocket): PeerIdentity | undefined {
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject;
  const commonName = first(subject?.CN);
  if (commonName === undefined) return undefined;
  return {
    commonName,
    organization: first(subject?.O),
    organizationalUnit: first(subject?.OU),
    remoteAddress: socket.remoteAddress,
  };
}

/**
 * `contextValues` for `connectNodeAdapter`: puts the peer identity of each request where
 * `authorizePeer` finds it. createMtlsServer uses it; a parent building its own adapter must too.
 */
export function mtlsContextValues(request: IncomingMessage | Http2ServerRequest) {
  const socket = request.socket as TLSSocket;
  return createContextValues().set(
    peerIdentityKey,
    typeof socket.getPeerCertificate === "function" ? peerIdentityOf(socket) : undefined,
  );
}

/** What `authorizePeer` needs to know. */
export interface AuthorizePeerOptions {
  /** Everyone in the project (the server kit's `participants`). */
  participants: readonly ParticipantEntry[];
  /** The kind of participant this route serves: `client` for cells, `admin` for the admin API. */
  expected: Exclude<ParticipantType, "server">;
  /** Told of every refusal. */
  logger: CellLogger;
}

/**
 * The project's entry for the peer of a call (a Connect handler finds it in its context under
 * `peerIdentityKey`), or a FedbridgeError the handler throws:
 * UNAUTHENTICATED when the peer has no verified certificate or its CN is not in the project,
 * PERMISSION_DENIED when it is a participant of another kind (an admin on the cell channel) or
 * its OU or O does not match its entry. Every refusal is logged.
 */
export function authorizePeer(
  peer: PeerIdentity | undefined,
  options: AuthorizePeerOptions,
): ParticipantEntry {
  const refuse = (code: Code, message: string): never => {
    const error = new FedbridgeError(code, message);
    options.logger({
      level: "warn",
      event: "cell.refused",
      stage: "identity",
      code: codeName(code),
      message,
      ...(peer ? { commonName: peer.commonName } : {}),
      ...(peer?.remoteAddress ? { remoteAddress: peer.remoteAddress } : {}),
    });
    throw error;
  };
  if (!peer) return refuse(Code.Unauthenticated, "no verified client certificate");
  const entry = options.participants.find((p) => p.name === peer.commonName);
  if (!entry)
    return refuse(
      Code.Unauthenticated,
      `certificate CN "${peer.commonName}" is not a participant of this project`,
    );
  if (entry.type !== options.expected)
    return refuse(
      Code.PermissionDenied,
      `"${peer.commonName}" is ${ONE[entry.type]}, and this service is for ${ALL[options.expected]}`,
    );
  const role = entry.type === "admin" ? entry.role : entry.type;
  if (peer.organizationalUnit !== role)
    return refuse(
      Code.PermissionDenied,
      `certificate of "${peer.commonName}" says OU=${peer.organizationalUnit ?? "(none)"}, the project says ${role}`,
    );
  // Authorization compares orgs (o:submitter, o:site): a certificate's O must be the project's.
  if (peer.organization !== entry.org)
    return refuse(
      Code.PermissionDenied,
      `certificate of "${peer.commonName}" says O=${peer.organization ?? "(none)"}, the project says ${entry.org}`,
    );
  return entry;
}

/** Each kind of participant, as a sentence names one of them, and all of them. */
const ONE: Record<ParticipantType, string> = {
  server: "the server",
  client: "a site",
  admin: "an admin",
};
const ALL: Record<Exclude<ParticipantType, "server">, string> = {
  client: "sites",
  admin: "admins",
};

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
