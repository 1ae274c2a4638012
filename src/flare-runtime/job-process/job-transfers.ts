import { rm } from "node:fs/promises";
import { join } from "node:path";
import { readFileDirect, writeWhole } from "../../core/direct-file.ts";
import type { Code } from "../../core/fedbridge-error.ts";
import type { FromJob, MulticastReply } from "./job-protocol.ts";
import type { MulticastOptions, SiteReply } from "./job-runner.ts";

interface Multicast {
  onReply: (site: string, reply: SiteReply) => void;
  done: () => void;
}

/**
 * The job process's side of large payloads: a multicast's payload and a checkpoint are
 * written to files in the job's workspace, and only their paths cross IPC; the parent streams
 * them to sites and writes sites' replies to files the job reads when it is ready. Files are
 * written whole and renamed into place, so a reader never sees half of one.
 */
export class JobTransfers {
  readonly #dir: string;
  readonly #send: (message: FromJob) => void;
  readonly #multicasts = new Map<number, Multicast>();
  #nextId = 1;

  constructor(workspace: string, send: (message: FromJob) => void) {
    this.#dir = join(workspace, "transfer");
    this.#send = send;
  }

  multicast(
    sites: readonly string[],
    topic: string,
    payload: readonly Uint8Array[],
    options: MulticastOptions,
    onReply: (site: string, reply: SiteReply) => void,
  ): Promise<void> {
    const id = this.#nextId++;
    // Not an async function: its parameters would live (the payload, maybe a whole model)
    // until every site has answered. Here they go as soon as the file is written.
    return writeWhole(join(this.#dir, `${id}.task`), payload).then(
      (file) =>
        new Promise<void>((resolve) => {
          this.#multicasts.set(id, { onReply, done: resolve });
          this.#send({
            type: "multicast",
            id,
            sites: [...sites],
            topic,
            file,
            ...(options.timeout ? { timeout: options.timeout } : {}),
            ...(options.keys ? { keys: { ...options.keys } } : {}),
            ...(options.siteMeta ? { siteMeta: { ...options.siteMeta } } : {}),
          });
        }),
    );
  }

  reply(message: MulticastReply): void {
    const multicast = this.#multicasts.get(message.id);
    if (multicast === undefined) return;
    if (!message.ok) {
      multicast.onReply(message.site, {
        ok: false,
        code: message.code as Code,
        message: message.message,
      });
      return;
    }
    if ("bytes" in message) {
      const { bytes } = message;
      multicast.onReply(message.site, {
        ok: true,
        bytes,
        read: async () => bytes,
        discard: async () => {},
      });
      return;
    }
    const { file } = message;
    multicast.onReply(message.site, {
      ok: true,
      file,
      read: () => readFileDirect(file).finally(() => rm(file, { force: true })),
      discard: () => rm(file, { force: true }),
    });
  }

  done(id: number): void {
    this.#multicasts.get(id)?.done();
    this.#multicasts.delete(id);
  }

  async saveCheckpoint(round: number, state: readonly Uint8Array[]): Promise<void> {
    const file = await writeWhole(
      join(this.#dir, "..", "checkpoints", `round-${round}.bin`),
      state,
      { durable: true },
    );
    this.#send({ type: "checkpoint", round, file });
  }
}
