/**
 * How far V8 lets a thread's heap grow past what its last full collection kept, for processes
 * that move model-sized data through a small heap (a SuperLink, a SuperNode, a job process).
 *
 * Such a heap holds about 25 MB of live objects (code and modules), and V8 set its limit at
 * twice that, so near that the young-generation collections its socket reads start kept
 * starting full ones: a node pulling a 400 MB model ran one every 65 ms, each marking the
 * whole heap again, 40% of its CPU while it received, and as much in the SuperLink (`perf`,
 * `--trace-gc`, 100M rounds). A limit of four times the live heap, the most V8 chooses by
 * itself when collections are cheap, leaves a third of them.
 */
import { setFlagsFromString } from "node:v8";

/** The heap's limit after a full collection, in percent more than it kept (V8's growing factor). */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Applies to every thread of this process, from its next full collection on; not where node was
 * started with a growing factor of the user's own (`--heap-growing-percent`), which stands.
 */
export function growHeapsFurther(): void {
  if (process.execArgv.some((arg) => arg.startsWith("--heap-growing-percent"))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
