/**
 * Memory for model-sized bytes that arrive (a received message, a payload) that V8 does not count.
 *
 * V8 counts every ArrayBuffer's bytes as the thread's external memory and starts a full
 * collection of its heap each time 64 MiB more is allocated. A node taking in a 400 MB model
 * and answering with another ran some 35 of them a round, each marking the whole heap again:
 * a third of the node's CPU, on V8's helper threads (`perf`, 100M rounds). Shared memory is not
 * counted per thread, so bytes there start no collection. They are freed as any others once
 * unreachable: by the collections that counted allocations (a socket's reads) still start, by
 * those collectAfter starts, or at the latest by the one started here every COLLECT_EVERY_BYTES
 * made.
 *
 * Only past UNCOUNTED_MIN_BYTES: small buffers are cheap to count.
 */
import { startCollection } from "./collect-garbage.ts";

export const UNCOUNTED_MIN_BYTES = 1 << 20;

/**
 * Uncounted bytes made past which a collection is started: a bound where nothing else collects.
 * With heaps allowed to grow further (heap-growth.ts) V8 collects less often by itself, so this
 * is what frees a round's replies in a SuperLink (2 GiB let its peak grow by a model).
 */
export const COLLECT_EVERY_BYTES = 2 ** 29;

let madeSinceCollection = 0;

/** `length` bytes: zeroed, in shared memory, from UNCOUNTED_MIN_BYTES on; not zeroed below. */
export function newBuffer(length: number): Buffer {
  if (length < UNCOUNTED_MIN_BYTES) return Buffer.allocUnsafeSlow(length);
  madeSinceCollection += length;
  if (madeSinceCollection >= COLLECT_EVERY_BYTES) {
    madeSinceCollection = 0;
    startCollection();
  }
  return Buffer.from(new SharedArrayBuffer(length));
}
