import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate } from "node:timers/promises";
import { writeFileDirect } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellServer } from "../cell/cell-server.ts";
import { sizedStream } from "../cell/chunk-sender.ts";
import type { IncomingPayload } from "../cell/incoming-payload.ts";
import type { FromJob, MulticastReply } from "../job-process/job-protocol.ts";
import type { Payload } from "../job-process/job-runner.ts";
import { decodePayload } from "../protocol/payload-codec.ts";
import { encodeSiteMessage } from "../protocol/site-protocol.ts";
import { encodeTaskHeader } from "../protocol/task-frame.ts";
import { joinPieces } from "../shareable/shareable-codec.ts";

/** A task without a timeout waits this long at most (a week). */
const NO_DEADLINE_SECONDS = 7 * 24 * 3600;
/** A payload file up to this size is read once for all sites, not once per site. */
const SHARED_PAYLOAD_BYTES = 2 ** 20;
/**
 * A site's reply up to this size goes to its job in memory; a larger one streams to a file,
 * so results waiting for the job hold disk, not memory (1,000 small ones: 64 MB at most).
 */
const WHOLE_REPLY_BYTES = 64 * 1024;
/** A multicast starts this many sites' calls, then lets the server's loop do other work. */
const SITES_PER_TURN = 50;

/**
 * A job's calls to its sites, made by the server parent. A site that is offline, or goes
 * offline while a call is out, fails it at once (UNAVAILABLE) rather than at its deadline: the
 * job decides what a dead site means (a workflow goes on with the others).
 */
export class SiteCalls {
  readonly #cells: CellServer;

  constructor(cells: CellServer) {
    this.#cells = cells;
  }

  /** One small request (V8-encoded, in memory) of a job to one site. */
  async request(
    jobId: string,
    site: string,
    topic: string,
    payload: Payload,
    timeout?: number,
  ): Promise<Payload> {
    const reply = await this.#whileOnline(site, (signal) =>
      this.#cells.request(site, "job", encodeSiteMessage("job", { jobId, topic, payload }), {
        ...(timeout ? { timeout: timeout * 1000 } : {}),
        signal,
      }),
    );
    return decodePayload<Payload>(reply, "job reply");
  }

  /**
   * A job's multicast: its payload file streams to every site (a large one read from disk per
   * site, so the server holds a few chunks per site, not a model per site; a small one read
   * once: 1,000 sites opened it 1,000 times), and each reply streams to a file of its own in
   * `dir`, handed to the job by `reply` as soon as it is complete.
   */
  async multicast(
    jobId: string,
    request: Extract<FromJob, { type: "multicast" }>,
    dir: string,
    reply: (message: MulticastReply) => void,
  ): Promise<void> {
    const { file } = request;
    await mkdir(dir, { recursive: true });
    const { size } = await stat(file);
    const payload = size <= SHARED_PAYLOAD_BYTES ? await readFile(file) : { file, size };
    const calls: Promise<void>[] = [];
    for (const [i, site] of request.sites.entries()) {
      // Starting 1,000 sites' calls at once held the server's loop for ~200 ms: let other work
      // (heartbeats, admin calls) in between every few dozen.
      if (i > 0 && i % SITES_PER_TURN === 0) await setImmediate();
      calls.push(this.#call(jobId, request, site, payload, dir, reply));
    }
    await Promise.all(calls);
  }

  /** One site's part of a multicast: its task out, its reply (or failure) to `reply`. */
  async #call(
    jobId: string,
    request: Extract<FromJob, { type: "multicast" }>,
    site: string,
    body: Uint8Array | { file: string; size: number },
    dir: string,
    reply: (message: MulticastReply) => void,
  ): Promise<void> {
    const { id, topic, timeout, keys, siteMeta } = request;
    const key = keys?.[site];
    const meta = siteMeta?.[site];
    const header = encodeTaskHeader({
      jobId,
      topic,
      ...(key === undefined ? {} : { key }),
      ...(meta === undefined ? {} : { meta }),
    });
    try {
      const incoming = await this.#whileOnline(site, async (signal) => {
        // No deadline means none: a task may train for hours (the job's own timeouts rule).
        const payload = await this.#cells.requestStream(site, "task", task(header, body), {
          timeout: (timeout ?? NO_DEADLINE_SECONDS) * 1000,
          signal,
        });
        return receiveReply(payload, join(dir, `${id}-${site}.result`));
      });
      reply({ type: "multicast-reply", id, site, ok: true, ...incoming });
    } catch (error) {
      const failure = FedbridgeError.from(error);
      reply({
        type: "multicast-reply",
        id,
        site,
        ok: false,
        code: failure.code,
        message: failure.message,
      });
    }
  }

  async #whileOnline<T>(site: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (!this.#cells.site(site)?.online)
      throw new FedbridgeError(Code.Unavailable, `site ${site} is offline`);
    const gone = new AbortController();
    const unsubscribe = this.#cells.subscribe((event) => {
      if (event.type === "offline" && event.site.name === site) {
        gone.abort(
          new FedbridgeError(Code.Unavailable, `site ${site} went offline: ${event.reason}`),
        );
      }
    });
    try {
      return await call(gone.signal);
    } catch (error) {
      throw gone.signal.aborted ? gone.signal.reason : error;
    } finally {
      unsubscribe();
    }
  }
}

/**
 * A site's reply: a small one whole, to go to the job over IPC (no file to write, read and
 * remove); one past WHOLE_REPLY_BYTES streamed to `path` past the page cache (it is read once,
 * when its turn in the fold comes), written whole and renamed into place. A reply that does
 * not say its size up front is judged by its first bytes.
 */
async function receiveReply(
  payload: IncomingPayload,
  path: string,
): Promise<{ bytes: Uint8Array } | { file: string }> {
  if (payload.size !== undefined && payload.size <= WHOLE_REPLY_BYTES)
    return { bytes: await payload.bytes() };
  const chunks = payload.chunks()[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  for (let headBytes = 0; payload.size === undefined && headBytes <= WHOLE_REPLY_BYTES; ) {
    const next = await chunks.next();
    if (next.done) return { bytes: joinPieces(head) };
    head.push(next.value);
    headBytes += next.value.byteLength;
  }
  const partial = `${path}.partial`;
  try {
    await writeFileDirect(partial, {
      async *[Symbol.asyncIterator]() {
        yield* head.splice(0);
        for (let next = await chunks.next(); !next.done; next = await chunks.next())
          yield next.value;
      },
    });
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, path);
  return { file: path };
}

/**
 * The header, then the payload: read, or its file read in 1 MiB pieces as the cell asks; its
 * size said up front, so a site can place the bytes as they come.
 */
function task(header: Uint8Array, payload: Uint8Array | { file: string; size: number }) {
  const size =
    header.byteLength + (payload instanceof Uint8Array ? payload.byteLength : payload.size);
  return sizedStream(
    size,
    (async function* () {
      yield header;
      if (payload instanceof Uint8Array) yield payload;
      else
        for await (const chunk of createReadStream(payload.file, { highWaterMark: 2 ** 20 }))
          yield chunk as Buffer;
    })(),
  );
}
