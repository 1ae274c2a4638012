import { Worker } from "node:worker_threads";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Context } from "../app/context.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageFromParts, messageToParts } from "../message/message-serde.ts";
import { decodeRecordDict, encodeRecordDict } from "../records/serde.ts";
import type { ClientAppRunner } from "./client-app-runner.ts";
import {
  type HandleRequest,
  partsBuffers,
  type ThreadInit,
  type ThreadReply,
  type WorkerSetup,
} from "./protocol.ts";

const BOOT = new URL("./clientapp-thread.boot.mjs", import.meta.url);

export interface ClientAppWorkerOptions {
  /** file: URL of the app's ClientApp module. */
  clientappUrl: string;
  /** A module the thread imports before the app (see WorkerSetup). Default: none. */
  setup?: WorkerSetup;
  /** Tracking events the setup module sent, with the node whose message was being handled. */
  onTracking?: (events: object[], nodeId: bigint | undefined) => void;
  /**
   * The caller gives up each instruction's arrays: large ones move to the thread uncopied, and
   * their buffers (whole) are unusable here after. Default: copied.
   */
  moveInstructionArrays?: boolean;
}

/**
 * How long before a message's TTL runs out its handler is stopped, in s: time for the error
 * reply to reach the server while the message still counts.
 */
export function deadlineMargin(ttl: number): number {
  return Math.min(2, ttl / 4);
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  /** The app could not load: every instruction gets that reason, without a new thread. */
  loadFailed: boolean;
  /** The instruction being handled: settled by its reply, or by why there is none. */
  current?: { id: number; settle: (outcome: ThreadReply | string) => void } | undefined;
}

/**
 * Runs a ClientApp in a thread of its own, where a handler can be abandoned: each instruction
 * is handled under its TTL, and a handler still running near the end of it is stopped (the
 * thread with it) and answered with an error reply, so the node serves its next message. The
 * nodes' Contexts stay with the caller and travel with each instruction, so node state
 * survives a stopped thread, as a Flower SuperNode keeps it across ClientApp processes.
 * Instructions are handled one at a time, in the order given; `handle` always resolves with a
 * reply.
 */
export class ClientAppWorker implements ClientAppRunner {
  readonly #options: ClientAppWorkerOptions;
  #thread: Thread | undefined;
  #queue: Promise<void> = Promise.resolve();
  #nextId = 1;
  #closed = false;

  constructor(options: ClientAppWorkerOptions) {
    this.#options = options;
  }

  /** Starts the thread and loads the app; rejects with the reason the app cannot load. */
  start(): Promise<void> {
    return this.#current().ready;
  }

  /**
   * Handles `message` for the node whose Context is `context` (its `state` is replaced by the
   * handler's). Aborting `signal` stops the handler (its run was stopped).
   */
  handle(message: Message, context: Context, signal?: AbortSignal): Promise<Message> {
    const handled = this.#queue.then(() => this.#handleNow(message, context, signal));
    // Settles with nothing: the queue must not hold the reply (a model) until the next message.
    this.#queue = handled.then(
      () => undefined,
      () => undefined,
    );
    return handled;
  }

  /** Stops the thread, to free its memory; the next `handle` starts a new one. */
  async stop(): Promise<void> {
    const thread = this.#thread;
    if (thread !== undefined && !thread.loadFailed)
      await this.#stop(thread, "the ClientApp was stopped");
  }

  /** Stops the thread for good; what it was handling gets an error reply. */
  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    if (thread !== undefined) await this.#stop(thread, "the node is shutting down");
  }

  async #handleNow(message: Message, context: Context, signal?: AbortSignal): Promise<Message> {
    const fail = (code: number, reason: string) =>
      new Message(new MessageError(code, reason), { replyTo: message });
    if (this.#closed) return fail(ErrorCode.CLIENT_APP_CRASHED, "the node is shutting down");
    const thread = this.#current();
    try {
      await thread.ready;
    } catch (error) {
      return fail(ErrorCode.LOAD_CLIENT_APP_EXCEPTION, FedbridgeError.from(error).message);
    }
    const ttl = message.metadata.ttl;
    const deadline = (message.metadata.createdAt + ttl - deadlineMargin(ttl)) * 1000;
    const id = this.#nextId++;
    const outcome = await new Promise<ThreadReply | string>((resolve) => {
      const onAbort = () => void this.#stop(thread, "the run was stopped; so was its ClientApp");
      const timer = setTimeout(
        () =>
          void this.#stop(
            thread,
            `the ClientApp did not reply within the message's TTL (${ttl} s); it was stopped`,
          ),
        Math.min(Math.max(0, deadline - Date.now()), 2 ** 31 - 1),
      );
      thread.current = {
        id,
        settle: (result) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          thread.current = undefined;
          resolve(result);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      const request: HandleRequest = {
        id,
        message: messageToParts(message, this.#options.moveInstructionArrays),
        runId: context.runId,
        nodeId: context.nodeId,
        nodeConfig: context.nodeConfig,
        runConfig: context.runConfig,
        state: encodeRecordDict(context.state),
      };
      // The parts are this call's own copies, or arrays given up: moved, not cloned again.
      thread.worker.postMessage(request, partsBuffers(request.message));
    });
    if (typeof outcome === "string") return fail(ErrorCode.CLIENT_APP_CRASHED, outcome);
    if (outcome.type !== "reply") return fail(ErrorCode.CLIENT_APP_CRASHED, "no reply");
    context.state = decodeRecordDict(outcome.state);
    return messageFromParts(outcome.message);
  }

  /** Stops a thread; what it was handling is answered with `why`. The next call starts anew. */
  async #stop(thread: Thread, why: string): Promise<void> {
    if (this.#thread === thread) this.#thread = undefined;
    thread.current?.settle(why);
    await thread.worker.terminate();
  }

  /** The running thread, started if there is none. */
  #current(): Thread {
    if (this.#thread !== undefined) return this.#thread;
    const init: ThreadInit = {
      clientappUrl: this.#options.clientappUrl,
      ...(this.#options.setup ? { setup: this.#options.setup } : {}),
    };
    const worker = new Worker(BOOT, { workerData: init });
    let settleReady = { resolve: () => {}, reject: (_: FedbridgeError) => {} };
    const ready = new Promise<void>((resolve, reject) => {
      settleReady = { resolve, reject };
    });
    ready.catch(() => {}); // observed by start() or handle()
    const thread: Thread = { worker, ready, loadFailed: false };
    worker.on("message", (reply: ThreadReply) => {
      if (reply.type === "ready") settleReady.resolve();
      else if (reply.type === "load-error") {
        thread.loadFailed = true;
        settleReady.reject(new FedbridgeError(Code.InvalidArgument, reply.message));
        void worker.terminate();
      } else if (reply.type === "tracking") this.#options.onTracking?.(reply.events, reply.nodeId);
      else if (thread.current?.id === reply.id) thread.current.settle(reply);
    });
    const gone = (why: string) => {
      settleReady.reject(new FedbridgeError(Code.Internal, why));
      // A thread whose app could not load stays, so the reason is given without a new try.
      if (this.#thread === thread && !thread.loadFailed) this.#thread = undefined;
      thread.current?.settle(why);
    };
    worker.on("error", (error) => gone(`the ClientApp's thread crashed: ${error.message}`));
    worker.on("exit", (code) => gone(`the ClientApp's thread exited (code ${code})`));
    this.#thread = thread;
    return thread;
  }
}
