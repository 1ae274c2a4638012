/**
 * Full garbage collections of the calling thread's heap, for a thread that has just let go of
 * a model's worth of buffers and may now sit idle: V8 collects only when the thread allocates,
 * so an idle thread (a ClientApp's between messages, a node's while it waits for the next
 * round) would hold that memory until its next message, doubling its peak.
 */

/** Bytes let go of at once past which a collection (milliseconds: the heap is small) pays. */
export const COLLECT_AFTER_BYTES = 64 * 2 ** 20;

/** V8's `gc`: at once, or (`execution: "async"`) as its own collections run, beside the thread. */
type Gc = (options?: { type: "major"; execution: "async" }) => unknown;

let exposed: Gc | undefined;

/**
 * V8's `gc`; none in a browser, which collects by itself (the strategies, which ask for
 * collections, are bundled into web pages too). Node's modules are asked for at run time, so
 * that a browser bundle has none to resolve.
 */
function gc(): Gc {
  if (exposed !== undefined) return exposed;
  const node = (globalThis as { process?: Partial<Pick<NodeJS.Process, "getBuiltinModule">> })
    .process;
  if (node?.getBuiltinModule === undefined) {
    exposed = () => {};
    return exposed;
  }
  // `--expose-gc` set at run time, as Jest does for --logHeapUsage: it applies to new contexts.
  node.getBuiltinModule("node:v8").setFlagsFromString("--expose-gc");
  exposed = node.getBuiltinModule("node:vm").runInNewContext("gc") as Gc;
  return exposed;
}

/** Collects now. */
export function collectGarbage(): void {
  gc()();
  // Buffers moved in from another thread are freed only by a second pass.
  gc()();
}

/** Starts a full collection that goes on beside the thread's work, as V8's own do. */
export function startCollection(): void {
  void gc()({ type: "major", execution: "async" });
}

/**
 * Starts a collection once the current task has ended (its locals are gone by then), when it
 * let go of at least COLLECT_AFTER_BYTES. V8's concurrent kind: two at once on the thread (as
 * collectGarbage does) held a node's main thread 100–140 ms after each message, and a 10M
 * round's nodes did 20% more work (vs-flower); the memory is freed as soon as with them.
 */
export function collectAfter(bytesLetGo: number): void {
  if (bytesLetGo >= COLLECT_AFTER_BYTES) setImmediate(startCollection);
}
