import { Worker } from "node:worker_threads";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { SimulatedNode, WorkerInit, WorkerReply, WorkerRequest } from "./worker-protocol.ts";

const BOOT = new URL("./node-worker.boot.mjs", import.meta.url);

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<
    number,
    { resolve: (bytes: Uint8Array) => void; reject: (error: FedbridgeError) => void }
  >;
}

/**
 * Worker threads that host the simulated nodes, node i on worker i mod W, so each node's
 * state stays in one place. A worker that dies fails its in-flight instructions and is
 * started again for the next ones (the node restarts, as a real one would).
 */
export class NodeWorkerPool {
  readonly #slots: Slot[] = [];
  readonly #init: Omit<WorkerInit, "nodes">;
  readonly #nodesBySlot: SimulatedNode[][];
  #nextId = 0;
  #closed = false;

  constructor(init: Omit<WorkerInit, "nodes">, nodes: readonly SimulatedNode[], workers: number) {
    this.#init = init;
    const count = Math.max(1, Math.min(workers, nodes.length));
    this.#nodesBySlot = Array.from({ length: count }, (_, w) =>
      nodes.filter((n) => n.index % count === w),
    );
  }

  /** Starts every worker and waits until each has loaded the ClientApp. */
  async start(): Promise<void> {
    for (let i = 0; i < this.#nodesBySlot.length; i++) this.#slots[i] = this.#spawn(i);
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  /** Runs one instruction on its node's worker; resolves with the reply's bytes. */
  async handle(nodeIndex: number, bytes: Uint8Array): Promise<Uint8Array> {
    const slotIndex = nodeIndex % this.#slots.length;
    const slot = this.#slots[slotIndex] as Slot;
    await slot.ready;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, nodeIndex, bytes } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(index: number): Slot {
    const worker = new Worker(BOOT, {
      workerData: { ...this.#init, nodes: this.#nodesBySlot[index] } satisfies WorkerInit,
    });
    const pending: Slot["pending"] = new Map();
    let settleReady: { resolve: () => void; reject: (e: FedbridgeError) => void } | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settleReady = { resolve, reject };
    });
    ready.catch(() => {}); // observed by start() or handle(); never an unhandled rejection
    worker.on("message", (reply: WorkerReply) => {
      if (reply.type === "ready") settleReady?.resolve();
      else if (reply.type === "load-error")
        settleReady?.reject(new FedbridgeError(Code.InvalidArgument, reply.message));
      else {
        pending.get(reply.id)?.resolve(reply.bytes);
        pending.delete(reply.id);
      }
    });
    let dead = false;
    const fail = (why: string) => {
      if (dead) return; // "error" is followed by "exit": handle the death once
      dead = true;
      const error = new FedbridgeError(Code.Internal, `simulation worker ${index} stopped: ${why}`);
      settleReady?.reject(error);
      for (const { reject } of pending.values()) reject(error);
      pending.clear();
      if (!this.#closed) this.#slots[index] = this.#spawn(index);
    };
    worker.on("error", (error) => fail(error.message));
    worker.on("exit", (code) => {
      if (!this.#closed) fail(`exit code ${code}`);
    });
    return { worker, ready, pending };
  }
}
