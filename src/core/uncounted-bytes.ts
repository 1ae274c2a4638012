/**
 * Memory for model-sized bytes (a received message, an encoded model) that V8 does not count.
 *
 * V8 counts every ArrayBuffer's bytes as the thread's external memory and starts a full
 * collection of its heap each time 64 MiB more is allocated. A node taking in a 400 MB model
 * and answering with another ran some 35 of them a round, each marking the whole heap again:
 * a third of the node's CPU, on V8's helper threads (`perf`, 100M rounds). Shared memory is not
 * counted per thread, so bytes there start no collection. They are freed as any others once
 * unreachable, by the collections that smaller allocations (a socket's reads) still start, or
 * by collectGarbage.
 *
 * Only past UNCOUNTED_MIN_BYTES: small buffers are cheap to count, and many small ones left
 * uncounted would wait too long for a collection. Where SharedArrayBuffer is missing (a page that
 * is not cross-origin isolated), a plain buffer.
 */
export const UNCOUNTED_MIN_BYTES = 1 << 20;

const shared = typeof SharedArrayBuffer === "function";

/** `length` zeroed bytes, in shared memory when at least UNCOUNTED_MIN_BYTES. */
export function newBytes(length: number): Uint8Array {
  return shared && length >= UNCOUNTED_MIN_BYTES
    ? new Uint8Array(new SharedArrayBuffer(length))
    : new Uint8Array(length);
}

/** The same as a Node Buffer (its bytes are not zeroed when small). */
export function newBuffer(length: number): Buffer {
  return length >= UNCOUNTED_MIN_BYTES
    ? Buffer.from(new SharedArrayBuffer(length))
    : Buffer.allocUnsafeSlow(length);
}
