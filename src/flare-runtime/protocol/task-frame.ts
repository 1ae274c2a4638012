import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { TaskMeta } from "../job-process/job-runner.ts";
import { joinPieces } from "../shareable/shareable-codec.ts";

/**
 * A job's task as a cell carries it from the server to a site: a short JSON header naming the
 * job and the topic, then the task's bytes as the job wrote them. The server streams the
 * bytes from a file behind the header, and a site streams them on to the job, so the header is
 * a prefix, not an envelope.
 *
 *     u32 header length | {"jobId": ..., "topic": ..., "key"?: ..., "meta"?: {...}} | task bytes
 */
export interface TaskHeader {
  jobId: string;
  topic: string;
  /** The task's idempotency key at this site (Task.keys), if it has one. */
  key?: string;
  /** This site's own entries of the task's meta (Task.siteMeta), if it has any. */
  meta?: TaskMeta;
}

/** What an idempotency key may be: it names a file at the site. */
const KEY_SHAPE = /^[0-9A-Za-z_-]{1,128}$/;
export const TASK_KEY_RULE = "1 to 128 letters, digits, '-' or '_'";

/** Whether `key` may be a task's idempotency key (Task.keys). */
export function isTaskKey(key: unknown): key is string {
  return typeof key === "string" && KEY_SHAPE.test(key);
}

export function encodeTaskHeader(header: TaskHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Spaces pad the header so the task bytes start 8-aligned: float arrays in them stay views.
  const out = new Uint8Array(Math.ceil((4 + json.byteLength) / 8) * 8).fill(0x20);
  new DataView(out.buffer).setUint32(0, out.byteLength - 4, true);
  out.set(json, 4);
  return out;
}

export function decodeTaskFrame(bytes: Uint8Array): TaskHeader & { body: Uint8Array } {
  const fail = (fault: string) =>
    new FedbridgeError(Code.InvalidArgument, `malformed task frame: ${fault}`);
  if (bytes.byteLength < 4) throw fail("too short");
  const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (4 + length > bytes.byteLength) throw fail("the header runs past the end");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
  } catch {
    throw fail("the header is not JSON");
  }
  const { jobId, topic, key, meta } = (header ?? {}) as Partial<TaskHeader>;
  if (typeof jobId !== "string" || typeof topic !== "string")
    throw fail("the header needs jobId and topic");
  if (key !== undefined && !isTaskKey(key)) throw fail(`its key must be ${TASK_KEY_RULE}`);
  if (meta !== undefined && (meta === null || typeof meta !== "object" || Array.isArray(meta)))
    throw fail("its meta must be a JSON object");
  return {
    jobId,
    topic,
    ...(key === undefined ? {} : { key }),
    ...(meta === undefined ? {} : { meta }),
    body: bytes.subarray(4 + length),
  };
}

/**
 * Reads a task frame's header as it streams in: resolves with the header and the bytes after
 * it, still streaming (`return()` on them drops the rest).
 */
export async function splitTaskFrame(
  chunks: AsyncIterable<Uint8Array>,
): Promise<{ header: TaskHeader; headerBytes: number; body: AsyncIterableIterator<Uint8Array> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  for (;;) {
    const next = await iterator.next();
    if (next.done)
      throw new FedbridgeError(Code.InvalidArgument, "malformed task frame: too short");
    head = head.byteLength === 0 ? next.value : joinPieces([head, next.value]);
    if (head.byteLength < 4) continue;
    const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    if (head.byteLength < 4 + length) continue;
    let decoded: ReturnType<typeof decodeTaskFrame>;
    try {
      decoded = decodeTaskFrame(head);
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
    const { body: rest, ...header } = decoded;
    return { header, headerBytes: 4 + length, body: prepend(rest, iterator) };
  }
}

/** `first` (if not empty), then the rest of `iterator`. */
function prepend(
  first: Uint8Array,
  iterator: AsyncIterator<Uint8Array>,
): AsyncIterableIterator<Uint8Array> {
  let pending: Uint8Array | undefined = first.byteLength > 0 ? first : undefined;
  return {
    next: async () => {
      const value = pending;
      pending = undefined;
      return value === undefined ? iterator.next() : { done: false, value };
    },
    return: async () => {
      pending = undefined;
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
