/**
 * Full garbage collections of the calling thread's heap, for a thread that has just let go of
 * a model's worth of buffers and may now sit idle: V8 collects only when the thread allocates,
 * so an idle thread (a ClientApp's between messages, a node's while it waits for the next
 * round) would hold that memory until its next message, doubling its peak.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Bytes let go of at once past which a collection (milliseconds: the heap is small) pays. */
export const COLLECT_AFTER_BYTES = 64 * 2 ** 20;

let gc: (() => void) | undefined;

/** Collects now. */
export function collectGarbage(): void {
  if (gc === undefined) {
    // `--expose-gc` set at run time, as Jest does for --logHeapUsage: it applies to new contexts.
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  // Buffers moved in from another thread are freed only by a second pass.
  gc();
}

/**
 * Collects once the current task has ended (its locals are gone by then), when it let go of
 * at least COLLECT_AFTER_BYTES.
 */
export function collectAfter(bytesLetGo: number): void {
  if (bytesLetGo >= COLLECT_AFTER_BYTES) setImmediate(collectGarbage);
}
