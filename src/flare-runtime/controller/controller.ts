import { mkdir, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { readFileDirect, writeFileDirect } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { ServerJobContext, SiteReply } from "../job-process/job-runner.ts";
import { isTaskKey, TASK_KEY_RULE } from "../protocol/task-frame.ts";
import type { Shareable } from "../shareable/shareable.ts";
import { decodeShareable, encodeShareable } from "../shareable/shareable-codec.ts";
import { ShareableFile } from "../shareable/shareable-file.ts";
import { ReturnCode, type Task, type TaskResult } from "./task.ts";

export interface BroadcastOptions {
  /** Sites to send the task to. Default: every site of the job. */
  targets?: readonly string[];
  /** OK results after which the task may end early. Default: every target. */
  minResponses?: number;
  /** Seconds to wait for more results once `minResponses` are in. Default: 0. */
  waitTimeAfterMinReceived?: number;
  /** Each result as it arrives, OK or not, while the task is open. Default: none. */
  onResult?: (result: TaskResult) => void | Promise<void>;
}

export interface SendOptions {
  /** Sites that may do the task. Default: every site of the job. */
  targets?: readonly string[];
  /** `sequential`: one target after another until one succeeds; `any`: the first to succeed. */
  order?: "sequential" | "any";
}

export interface RelayOptions {
  /** Sites in the order the task visits them. Default: every site of the job. */
  targets?: readonly string[];
  /**
   * Each site's result; what it returns is the next site's data. Default: an OK result's
   * shareable passes on as it is; a failed site is skipped and the data goes on unchanged.
   */
  onResult?: (result: TaskResult, data: Shareable) => Shareable | Promise<Shareable>;
}

/** Seconds a result may arrive after its task ended and still be read into the log as stale. */
const STALE_GRACE_SECONDS = 30;

/**
 * The server side of FLARE's programming model: a workflow hands tasks to sites and gets one
 * TaskResult per site back. A task ends when every target has answered, or when
 * `minResponses` OK results are in and `waitTimeAfterMinReceived` has passed, or at its
 * timeout; sites that had not answered get TIMEOUT, and results that come later are logged
 * and ignored.
 */
export class Controller {
  readonly #job: ServerJobContext;

  constructor(job: ServerJobContext) {
    this.#job = job;
  }

  get sites(): readonly string[] {
    return this.#job.sites;
  }

  log(line: string): void {
    this.#job.log(line);
  }

  /**
   * Sends `task` to the targets; resolves with one result per target, in target order. Rejects
   * at once a key its sites would refuse (Task.keys).
   */
  broadcastAndWait(task: Task, options: BroadcastOptions = {}): Promise<TaskResult[]> {
    for (const [site, key] of Object.entries(task.keys ?? {}))
      if (!isTaskKey(key))
        return Promise.reject(
          new FedbridgeError(
            Code.InvalidArgument,
            `task ${task.name}: the key for ${site} must be ${TASK_KEY_RULE}, not ${JSON.stringify(key)}`,
          ),
        );
    // No closure below keeps `task`: its data (maybe a large model) goes once it is on disk.
    const { name, timeout, keys, siteMeta } = task;
    // Handed over once below, so no closure holds the pieces either.
    const handOver: { payload?: Uint8Array[] } = { payload: encodeShareable(task.data) };
    const round = task.data.meta.round;
    const targets = [...(options.targets ?? this.#job.sites)];
    const minResponses = Math.min(options.minResponses ?? targets.length, targets.length);
    const results = new Map<string, TaskResult>();
    const label = `task ${name}${round === undefined ? "" : ` (round ${round})`}`;
    return new Promise((resolve) => {
      let open = true;
      let graceTimer: NodeJS.Timeout | undefined;
      let okCount = 0;
      const finish = (why: ReturnCode, message: string) => {
        if (!open) return;
        open = false;
        clearTimeout(timeoutTimer);
        clearTimeout(graceTimer);
        this.#job.signal.removeEventListener("abort", onAbort);
        for (const site of targets)
          if (!results.has(site)) this.#job.log(`${site}: ${label}: ${why}: ${message}`);
        resolve(targets.map((site) => results.get(site) ?? failed(site, why, message)));
      };
      const onAbort = () => finish(ReturnCode.ABORTED, "the job was aborted");
      this.#job.signal.addEventListener("abort", onAbort, { once: true });
      const timeoutTimer =
        timeout && timeout > 0
          ? setTimeout(
              () => finish(ReturnCode.TIMEOUT, `no result within ${timeout} s`),
              timeout * 1000,
            )
          : undefined;
      const onReply = (site: string, reply: SiteReply) => {
        if (!open) {
          this.#job.log(`stale result of ${site} for ${label} ignored: the task had ended`);
          if (reply.ok) void reply.discard();
          return;
        }
        const result = taskResult(site, reply);
        results.set(site, result);
        if (result.code === ReturnCode.OK) okCount++;
        else this.#job.log(`${site}: ${label}: ${result.code}: ${result.message}`);
        void Promise.resolve(options.onResult?.(result)).catch((error) =>
          this.#job.log(`${label}: result handler failed: ${FedbridgeError.from(error).message}`),
        );
        if (results.size === targets.length) finish(ReturnCode.TIMEOUT, "");
        else if (okCount === minResponses && graceTimer === undefined) {
          graceTimer = setTimeout(
            () =>
              finish(
                ReturnCode.TIMEOUT,
                `no result within ${options.waitTimeAfterMinReceived ?? 0} s after the first ${minResponses}`,
              ),
            (options.waitTimeAfterMinReceived ?? 0) * 1000,
          );
        }
      };
      if (targets.length === 0) return finish(ReturnCode.OK, "");
      const deadline = timeout ? timeout * 2 + STALE_GRACE_SECONDS : undefined;
      const payload = handOver.payload ?? [];
      delete handOver.payload;
      this.#job
        .multicast(
          targets,
          name,
          payload,
          {
            ...(deadline ? { timeout: deadline } : {}),
            ...(keys ? { keys } : {}),
            ...(siteMeta ? { siteMeta } : {}),
          },
          onReply,
        )
        .catch((error) => {
          for (const site of targets)
            if (!results.has(site))
              onReply(site, { ok: false, code: Code.Internal, message: String(error) });
        });
    });
  }

  /** Gives `task` to one target: in order until one succeeds, or to all and the first wins. */
  async send(task: Task, options: SendOptions = {}): Promise<TaskResult> {
    const targets = [...(options.targets ?? this.#job.sites)];
    if (targets.length === 0)
      throw new FedbridgeError(Code.InvalidArgument, `task ${task.name} has no target`);
    if (options.order === "any") {
      const results = await this.broadcastAndWait(task, { targets, minResponses: 1 });
      return results.find((r) => r.code === ReturnCode.OK) ?? (results[0] as TaskResult);
    }
    let last: TaskResult | undefined;
    for (const site of targets) {
      [last] = await this.broadcastAndWait(task, { targets: [site] });
      if (last?.code === ReturnCode.OK) return last;
    }
    return last as TaskResult;
  }

  /**
   * Sends `task` to the targets one after another, each site's result becoming the next
   * site's data (FLARE's relay, the heart of cyclic training). Resolves with the last data
   * and every site's result.
   */
  async relay(
    task: Task,
    options: RelayOptions = {},
  ): Promise<{ data: Shareable; results: TaskResult[] }> {
    let data = task.data;
    const results: TaskResult[] = [];
    for (const site of options.targets ?? this.#job.sites) {
      const [result] = await this.broadcastAndWait({ ...task, data }, { targets: [site] });
      if (result === undefined) continue;
      results.push(result);
      if (options.onResult) data = await options.onResult(result, data);
      else if (result.code === ReturnCode.OK) data = await result.read();
    }
    return { data, results };
  }
}

function taskResult(site: string, reply: SiteReply): TaskResult {
  if (reply.ok) {
    let taken = false;
    const take = () => {
      if (taken) throw new FedbridgeError(Code.FailedPrecondition, `${site}'s result was read`);
      taken = true;
    };
    const { file, bytes: whole } = reply;
    let kept: string | undefined;
    const keep = async (path: string) => {
      if (kept !== undefined)
        throw new FedbridgeError(Code.FailedPrecondition, `${site}'s result was kept`);
      await mkdir(dirname(path), { recursive: true });
      if (file !== undefined) await rename(file, path);
      else await writeFileDirect(path, [whole as Uint8Array]);
      kept = path;
    };
    return {
      site,
      code: ReturnCode.OK,
      read: async () => {
        take();
        const bytes =
          whole ?? (kept === undefined ? await reply.read() : await readFileDirect(kept));
        return decodeShareable(bytes, `result of ${site}`);
      },
      ...(file === undefined && whole === undefined ? {} : { keep }),
      ...(file === undefined
        ? {}
        : {
            open: async () => {
              take();
              const opened = await ShareableFile.open(kept ?? file, `result of ${site}`);
              const close = opened.close.bind(opened);
              // A kept file belongs to whoever kept it.
              opened.close = () => close().finally(() => (kept ? undefined : reply.discard()));
              return opened;
            },
          }),
    };
  }
  return failed(site, returnCodeOf(reply.code), reply.message);
}

function failed(site: string, code: ReturnCode, message: string): TaskResult {
  return {
    site,
    code,
    message,
    read: () =>
      Promise.reject(
        new FedbridgeError(Code.FailedPrecondition, `${site} gave no result: ${code}`),
      ),
  };
}

/** What a failed call to a site means for the task: the one place its code is read. */
function returnCodeOf(code: Code): ReturnCode {
  switch (code) {
    case Code.Unavailable:
      return ReturnCode.CLIENT_DEAD;
    case Code.NotFound:
    case Code.FailedPrecondition:
    case Code.PermissionDenied:
    case Code.InvalidArgument:
      return ReturnCode.REFUSED;
    case Code.DeadlineExceeded:
      return ReturnCode.TIMEOUT;
    case Code.Aborted:
    case Code.Canceled:
      return ReturnCode.ABORTED;
    default:
      return ReturnCode.ERROR;
  }
}
