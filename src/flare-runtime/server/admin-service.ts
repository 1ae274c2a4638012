import { X509Certificate } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Notifier } from "../../core/notifier.ts";
import { toConnectError } from "../../core/wire/connect-errors.ts";
import { Admin, type JobInfo } from "../../gen/fedbridge/v1/admin_pb.ts";
import type { StoredScalar } from "../../tracking/tracking-store.ts";
import type { CellLogger } from "../cell/cell-logger.ts";
import type { CellServer } from "../cell/cell-server.ts";
import { authorizePeer, peerIdentityKey } from "../cell/peer-identity.ts";
import type { AuditLog } from "../jobs/audit-log.ts";
import { type AdminUser, authorize, COMMAND_RIGHTS } from "../jobs/authz.ts";
import { inspectJobBundle } from "../jobs/job-bundle.ts";
import type { JobRecord } from "../jobs/job-record.ts";
import type { JobStore } from "../jobs/job-store.ts";
import type { AuthorizationPolicy } from "../provision/authorization-policy.ts";
import type { ParticipantEntry } from "../provision/index.ts";
import type { ServerConfig } from "../provision/kit-config.ts";
import { whoOf } from "./admin-gate.ts";

export interface AdminServiceDeps {
  config: ServerConfig;
  rootCaPem: string;
  policy: AuthorizationPolicy;
  store: JobStore;
  audit: AuditLog;
  cells: CellServer;
  logger: CellLogger;
  /** Job status changes, so `wait` wakes at once. */
  jobsChanged: Notifier;
  /** A job was stored as SUBMITTED: schedule it. */
  submitted(job: JobRecord): void;
  /** Aborts a job, running or waiting. */
  abort(job: JobRecord, reason: string): Promise<void>;
  jobDir(jobId: string): string;
  /** Why a SUBMITTED job cannot run yet, while the scheduler holds it. */
  waitingReason(jobId: string): string | undefined;
  /** The metrics of a job's last completed round, if it reported any. */
  roundMetrics(jobId: string): Record<string, number> | undefined;
  /** Every scalar a job logged to the server's tracking store; [] when it holds none. */
  jobScalars(jobId: string): StoredScalar[];
}

type Command = keyof typeof COMMAND_RIGHTS;

/** Largest chunk of a downloaded file. */
const DOWNLOAD_CHUNK = 1 << 20;

/**
 * The admin API. Every call: the caller is the admin whose certificate the connection
 * presented (a participant of the project, else refused), the command is authorized against
 * the server kit's authorization.json, and an audit line records who, what, when and the outcome.
 */
export function registerAdminService(router: ConnectRouter, deps: AdminServiceDeps): void {
  const { store, audit, cells } = deps;

  /**
   * Runs one command as the calling admin: identify, authorize, audit, act. The job a command
   * names is looked up only to decide: an unknown one is NOT_FOUND only for an admin whose role
   * would be allowed the command on any job, so job ids cannot be probed.
   */
  async function as<T>(
    context: HandlerContext,
    command: Command,
    args: string,
    jobId: string | undefined,
    act: (user: AdminUser) => Promise<T> | T,
  ): Promise<T> {
    const peer = context.values.get(peerIdentityKey);
    let entry: ParticipantEntry;
    try {
      // The port's gate (admitAdmins) has checked this before the body was read; this holds
      // for a parent that serves the admin API without it.
      entry = authorizePeer(peer, {
        participants: deps.config.participants,
        expected: "admin",
        logger: deps.logger,
      });
    } catch (error) {
      const failure = FedbridgeError.from(error, Code.PermissionDenied);
      await audit.record({
        who: whoOf(peer),
        command,
        args,
        outcome: "denied",
        reason: failure.message,
      });
      throw toConnectError(failure);
    }
    const user: AdminUser = { name: entry.name, org: entry.org, role: entry.role ?? "" };
    const job = jobId === undefined ? undefined : store.get(jobId);
    const decision = authorize(
      deps.policy,
      user,
      COMMAND_RIGHTS[command],
      job ? { submitter: job.submitter } : undefined,
    );
    if (!decision.allowed) {
      await audit.record({ who: user, command, args, outcome: "denied", reason: decision.reason });
      throw toConnectError(new FedbridgeError(Code.PermissionDenied, decision.reason));
    }
    try {
      if (jobId !== undefined && job === undefined)
        throw new FedbridgeError(Code.NotFound, `no job ${jobId}`);
      const result = await act(user);
      await audit.record({ who: user, command, args, outcome: "ok" });
      return result;
    } catch (error) {
      const failure = FedbridgeError.from(error);
      await audit.record({ who: user, command, args, outcome: "error", reason: failure.message });
      throw toConnectError(failure);
    }
  }

  const info = (record: JobRecord) => {
    const waiting = record.status === "SUBMITTED" ? deps.waitingReason(record.id) : undefined;
    return jobInfo(
      waiting === undefined ? record : { ...record, reason: `waiting for sites: ${waiting}` },
      deps.roundMetrics(record.id),
    );
  };
  /** A job known to exist (`as` checked it); one removed since is NOT_FOUND all the same. */
  const job = (id: string): JobRecord => {
    const record = store.get(id);
    if (record === undefined)
      throw toConnectError(new FedbridgeError(Code.NotFound, `no job ${id}`));
    return record;
  };

  router.service(Admin, {
    listSites: (_req, ctx) =>
      as(ctx, "sites", "", undefined, () => ({
        sites: cells.sites().map((s) => ({
          name: s.name,
          org: deps.config.participants.find((p) => p.name === s.name)?.org ?? "",
          online: s.online,
          lastHeartbeat: s.lastHeartbeat?.toISOString() ?? "",
        })),
      })),

    submitJob: (req, ctx) =>
      as(ctx, "submit", `bundle ${req.bundleSha256.slice(0, 12)}`, undefined, (user) => {
        const certificate = parseCertificate(req.submitterCertPem);
        if (
          certificate.subject
            .split("\n")
            .find((l) => l.startsWith("CN="))
            ?.slice(3) !== user.name
        ) {
          throw new FedbridgeError(
            Code.PermissionDenied,
            "the submitter certificate is not the one this connection presented",
          );
        }
        const bundle = {
          bytes: req.bundle,
          sha256: req.bundleSha256,
          signature: req.signature,
          submitterCertPem: req.submitterCertPem,
        };
        const { meta } = inspectJobBundle(bundle, deps.rootCaPem);
        const overrides = parseOverrides(req.configOverridesJson);
        const record = store.create({
          meta: { ...meta, config: { ...meta.config, ...(overrides as typeof meta.config) } },
          bundle: req.bundle,
          bundleSha256: req.bundleSha256,
          submitter: user,
          submitterCertPem: req.submitterCertPem,
          signature: req.signature,
        });
        deps.submitted(record);
        deps.jobsChanged.notify();
        return info(record);
      }),

    listJobs: (_req, ctx) =>
      as(ctx, "list", "", undefined, () => ({ jobs: store.list().map(info) })),

    getJob: (req, ctx) => as(ctx, "status", req.id, req.id, () => info(job(req.id))),

    abortJob: (req, ctx) =>
      as(ctx, "abort", req.id, req.id, async (user) => {
        const record = job(req.id);
        if (record.status.startsWith("FINISHED"))
          throw new FedbridgeError(
            Code.FailedPrecondition,
            `job ${req.id} has already finished (${record.status})`,
          );
        await deps.abort(record, `aborted by ${user.name}`);
        deps.jobsChanged.notify();
        return info(job(req.id));
      }),

    jobMetrics: (req, ctx) =>
      as(ctx, "status", req.id, req.id, () => ({
        scalars: deps.jobScalars(req.id).map(({ site, tag, step, value, wallTime }) => ({
          site,
          tag,
          step,
          value,
          wallTime,
        })),
      })),

    async *waitJob(req, ctx) {
      await as(ctx, "wait", req.id, req.id, () => undefined);
      const deadline = req.timeout > 0 ? Date.now() + req.timeout * 1000 : Number.POSITIVE_INFINITY;
      let last = "";
      for (;;) {
        const now = info(job(req.id));
        const key = `${now.status}/${now.round}/${now.reason}`;
        if (key !== last) yield now;
        last = key;
        if (now.status.startsWith("FINISHED") || Date.now() >= deadline || ctx.signal.aborted)
          return;
        await deps.jobsChanged.wait(Math.min(deadline - Date.now(), 5_000), ctx.signal);
      }
    },

    async *downloadJob(req, ctx) {
      await as(ctx, "download", req.id, req.id, () => undefined);
      const dir = deps.jobDir(req.id);
      for (const path of await listFiles(dir)) {
        const data = await readFile(path);
        const name = relative(dir, path);
        for (let offset = 0; offset === 0 || offset < data.length; offset += DOWNLOAD_CHUNK) {
          const end = Math.min(offset + DOWNLOAD_CHUNK, data.length);
          yield { path: name, data: data.subarray(offset, end), last: end >= data.length };
        }
      }
    },
  });
}

/** A job record as the admin API shows it. */
export function jobInfo(
  record: JobRecord,
  roundMetrics?: Record<string, number>,
): Omit<JobInfo, "$typeName"> {
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    round: record.lastRound ?? 0,
    submitter: record.submitter.name,
    submitterOrg: record.submitter.org,
    submittedAt: record.submittedAt,
    startedAt: record.startedAt ?? "",
    finishedAt: record.finishedAt ?? "",
    reason: record.reason ?? "",
    sites: [],
    roundMetricsJson: roundMetrics ? JSON.stringify(roundMetrics) : "",
  };
}

/** A job's folders that stay at the server: its unpacked app, its resume data, its transfers. */
const NOT_DOWNLOADED = new Set(["app", "checkpoints", "transfer"]);

/** The files a download carries: everything under the job's folder but its unpacked app. */
async function listFiles(dir: string): Promise<string[]> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((path) => !NOT_DOWNLOADED.has(relative(dir, path).split(sep)[0] ?? ""))
    .sort();
}

function parseCertificate(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new FedbridgeError(
      Code.InvalidArgument,
      "the submitter certificate is not a PEM certificate",
    );
  }
}

function parseOverrides(json: string): Record<string, unknown> {
  if (json === "") return {};
  try {
    const value = JSON.parse(json) as unknown;
    if (value !== null && typeof value === "object" && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {}
  throw new FedbridgeError(Code.InvalidArgument, "config overrides must be a JSON object");
}
