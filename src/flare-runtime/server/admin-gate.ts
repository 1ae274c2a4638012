/**
 * The admin API's door: who may send it a request at all, decided from the TLS session before a
 * byte of the body is read, so a site's certificate (or any project certificate that is not an
 * admin's) costs the server a header, not a 64 MiB bundle read and decoded. Every refusal is a
 * line of the audit log, as a person's refused command should be.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Admin } from "../../gen/fedbridge/v1/admin_pb.ts";
import type { CellLogger } from "../cell/cell-logger.ts";
import { authorizePeer, type PeerIdentity } from "../cell/peer-identity.ts";
import type { AuditEntry, AuditLog } from "../jobs/audit-log.ts";
import type { COMMAND_RIGHTS } from "../jobs/authz.ts";
import { DEFAULT_MAX_JOB_BUNDLE_BYTES } from "../jobs/job-bundle.ts";
import type { ParticipantEntry } from "../provision/index.ts";

/**
 * Largest admin request: SubmitJob's bundle at its limit (64 MiB), plus its signature, the
 * submitter's certificate and config overrides. Every other admin request is a few bytes.
 */
export const ADMIN_MAX_REQUEST_BYTES = DEFAULT_MAX_JOB_BUNDLE_BYTES + 2 ** 20;

export interface AdminGateOptions {
  /** Everyone in the project (the server kit's `participants`). */
  participants: readonly ParticipantEntry[];
  audit: AuditLog;
  logger: CellLogger;
}

/** The audit log's name for each admin method's command (as `fedbridge admin` names it). */
export const ADMIN_COMMANDS: Readonly<Record<string, keyof typeof COMMAND_RIGHTS>> = {
  ListSites: "sites",
  SubmitJob: "submit",
  ListJobs: "list",
  GetJob: "status",
  WaitJob: "wait",
  AbortJob: "abort",
  DownloadJob: "download",
  JobMetrics: "status",
};

/**
 * `admit` for the server's mTLS port: a request for the admin API (or any Connect path: the
 * port serves admins only there) goes on only when its certificate is an admin's of this
 * project (CN, OU and O as provisioned); otherwise UNAUTHENTICATED or PERMISSION_DENIED, audited.
 *
 * @example
 * createMtlsServer({ ..., admit: admitAdmins({ participants, audit, logger }) });
 */
export function admitAdmins(options: AdminGateOptions) {
  return (path: string, peer: PeerIdentity | undefined): FedbridgeError | undefined => {
    try {
      authorizePeer(peer, { ...options, expected: "admin" });
      return undefined;
    } catch (error) {
      const refusal = FedbridgeError.from(error, Code.PermissionDenied);
      options.audit.record({
        who: whoOf(peer),
        command: commandOf(path),
        args: "(not read)",
        outcome: "denied",
        reason: refusal.message,
      });
      return refusal;
    }
  };
}

/** Who a refused peer is, for the audit log: what its certificate says (CN, O, OU). */
export function whoOf(peer: PeerIdentity | undefined): AuditEntry["who"] {
  return {
    name: peer?.commonName ?? "(no certificate)",
    org: peer?.organization ?? "",
    role: peer?.organizationalUnit ?? "",
  };
}

/** `/fedbridge.v1.Admin/GetJob` → `status`; any other path as it is. */
function commandOf(path: string): string {
  const prefix = `/${Admin.typeName}/`;
  const method = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
  return method !== undefined && Object.hasOwn(ADMIN_COMMANDS, method)
    ? (ADMIN_COMMANDS[method] as string)
    : path;
}
