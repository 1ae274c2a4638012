import { Code, FedbridgeError } from "../../../core/fedbridge-error.ts";
import type { ServerJobContext } from "../../job-process/job-runner.ts";
import type { Shareable } from "../../shareable/shareable.ts";
import { decodeShareable, encodeShareable, joinPieces } from "../../shareable/shareable-codec.ts";

/** A site's behaviour in an in-memory job: its result, or a throw (an ERROR result). */
export type SiteBehaviour = (
  site: string,
  task: string,
  data: Shareable,
) => Shareable | Promise<Shareable>;

export interface InMemoryJob extends ServerJobContext {
  logs: string[];
  rounds: number[];
  checkpoints: { round: number; state: Uint8Array }[];
  result: Record<string, unknown> | undefined;
}

/**
 * A ServerJobContext for tests of controllers and workflows without processes: each site's
 * part is a function, and every task and result goes through the real wire encoding, so what
 * a workflow sees is what it would see from sites.
 */
export function createInMemoryJob(
  sites: readonly string[],
  behaviour: SiteBehaviour,
  options: { resume?: { round: number; state: Uint8Array }; signal?: AbortSignal } = {},
): InMemoryJob {
  const job: InMemoryJob = {
    jobId: "job-1",
    config: {},
    dir: ".",
    workspace: ".",
    sites: [...sites].sort(),
    signal: options.signal ?? new AbortController().signal,
    logs: [],
    rounds: [],
    checkpoints: [],
    result: undefined,
    log: (line) => job.logs.push(line),
    track: () => {},
    request: () => Promise.reject(new FedbridgeError(Code.Unimplemented, "no requests")),
    async multicast(targets, topic, payload, options, onReply) {
      const bytes = joinPieces(payload).slice();
      await Promise.all(
        targets.map(async (site) => {
          try {
            // As a site sees its task: its own meta entries merged over the task's.
            const data = decodeShareable(bytes);
            data.meta = { ...data.meta, ...options.siteMeta?.[site] };
            const result = await behaviour(site, topic, data);
            const encoded = joinPieces(encodeShareable(result)).slice();
            // As the runtime hands over a small reply: whole, with no file.
            onReply(site, {
              ok: true,
              bytes: encoded,
              read: async () => encoded,
              discard: async () => {},
            });
          } catch (error) {
            const failure = FedbridgeError.from(error);
            onReply(site, { ok: false, code: failure.code, message: failure.message });
          }
        }),
      );
    },
    async saveCheckpoint(round, state) {
      job.checkpoints.push({ round, state: joinPieces(state).slice() });
    },
    roundCompleted: (round) => job.rounds.push(round),
    setResult: (result) => {
      job.result = result;
    },
    ...(options.resume
      ? {
          resume: {
            round: options.resume.round,
            read: async () => (options.resume as { state: Uint8Array }).state,
          },
        }
      : {}),
  };
  return job;
}
