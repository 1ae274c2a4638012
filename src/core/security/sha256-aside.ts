/**
 * SHA-256 worked out beside the calling thread: large bytes in shared memory go to a hashing
 * thread, which reads them where they lie, so the calling thread takes in more meanwhile.
 *
 * A SuperLink verifies every object a node pushes: 800 MB a round at 100M with 2 nodes, a
 * quarter of its main thread's time while it received, with the machine's other core idle
 * (the nodes wait for the round's end). Smaller or unshared bytes are hashed here and now: a
 * thread costs more than they do, and an unshared buffer would have to be copied to it.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { z } from "zod";
import { UNCOUNTED_MIN_BYTES } from "../uncounted-bytes.ts";
import { sha256Hex } from "./sha256.ts";

const THREAD = new URL("./sha256-thread.mjs", import.meta.url);

/** Threads at most: the cores beside the caller's, up to 4. */
const MAX_THREADS = Math.min(4, Math.max(1, availableParallelism() - 1));

const HashedSchema = z.object({ id: z.number(), hex: z.string() });

interface HashThread {
  worker: Worker;
  pending: Map<number, { resolve: (hex: string) => void; reject: (error: Error) => void }>;
}

const threads: HashThread[] = [];
let nextId = 0;

/** Lowercase hex SHA-256 of `bytes`; on a hashing thread when they are large and shared. */
export function sha256HexAside(bytes: Uint8Array): Promise<string> {
  if (!(bytes.buffer instanceof SharedArrayBuffer) || bytes.byteLength < UNCOUNTED_MIN_BYTES)
    return Promise.resolve(sha256Hex(bytes));
  const thread = leastBusy();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    thread.pending.set(id, { resolve, reject });
    if (thread.pending.size === 1) thread.worker.ref(); // a hash under way keeps the process up
    thread.worker.postMessage({ id, bytes });
  });
}

/** The thread with the fewest hashes waiting, a new one while there are fewer than allowed. */
function leastBusy(): HashThread {
  const idle = threads.find((thread) => thread.pending.size === 0);
  if (idle !== undefined) return idle;
  if (threads.length < MAX_THREADS) return startThread();
  return threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
}

function startThread(): HashThread {
  const thread: HashThread = { worker: new Worker(THREAD), pending: new Map() };
  thread.worker.unref();
  // A thread that fails (out of memory) fails what it had; the next hash starts another.
  const fail = (error: Error) => {
    const at = threads.indexOf(thread);
    if (at >= 0) threads.splice(at, 1);
    for (const { reject } of thread.pending.values()) reject(error);
    thread.pending.clear();
  };
  thread.worker.on("message", (message: unknown) => {
    const hashed = HashedSchema.safeParse(message);
    if (!hashed.success) {
      fail(new Error("the hashing thread answered something else than a hash"));
      void thread.worker.terminate();
      return;
    }
    const { id, hex } = hashed.data;
    thread.pending.get(id)?.resolve(hex);
    thread.pending.delete(id);
    if (thread.pending.size === 0) thread.worker.unref();
  });
  thread.worker.on("error", fail);
  thread.worker.on("exit", (code) =>
    fail(new Error(`the hashing thread exited with code ${code}`)),
  );
  threads.push(thread);
  return thread;
}
