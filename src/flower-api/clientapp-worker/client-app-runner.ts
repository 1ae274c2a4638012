import type { Context } from "../app/context.ts";
import type { Message } from "../message/message.ts";

/**
 * What runs a node's ClientApp: a worker thread of its own (ClientAppWorker) or the calling
 * thread (InlineClientApp). Both handle one instruction at a time and always reply.
 */
export interface ClientAppRunner {
  /** Loads the app; rejects with the reason it cannot load. */
  start(): Promise<void>;
  /**
   * Handles `message` for the node whose Context is `context` (its `state` is replaced by the
   * handler's). Aborting `signal` abandons the handler (its run was stopped).
   */
  handle(message: Message, context: Context, signal?: AbortSignal): Promise<Message>;
  /** Frees what the app holds between runs; the next `handle` loads it again if need be. */
  stop(): Promise<void>;
  /** Ends the runner for good; what it was handling gets an error reply. */
  close(): Promise<void>;
}

/**
 * Where a SuperNode runs its ClientApp. `worker`: a thread of its own, which is stopped when
 * a handler runs past its message's TTL. `caller`: the thread that made the SuperNode, for
 * many SuperNodes in one process (a load harness); a handler past its TTL is answered with an
 * error but cannot be stopped, and apps share the process's globals.
 */
export type ClientAppThread = "worker" | "caller";
