import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { ClientApp } from "../app/client-app.ts";
import { type Context, createContext } from "../app/context.ts";
import { importApp } from "../app/load-app.ts";
import { runClientApp } from "../app/run-client-app.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { decodeRecordDict, encodeRecordDict } from "../records/serde.ts";
import type { ClientAppRunner } from "./client-app-runner.ts";
import { deadlineMargin } from "./clientapp-worker.ts";

/**
 * Runs a ClientApp on the calling thread: no thread per node, so a process can hold hundreds
 * of SuperNodes. Instructions are handled one at a time, in order. A handler still running
 * near the end of its message's TTL (or when its run is stopped) cannot be stopped here: its
 * message is answered with an error and whatever it returns later is dropped, state included,
 * since it works on a copy of the node's state that is kept only from a reply in time.
 */
export class InlineClientApp implements ClientAppRunner {
  readonly #clientappUrl: string;
  #app: Promise<ClientApp> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(clientappUrl: string) {
    this.#clientappUrl = clientappUrl;
  }

  start(): Promise<void> {
    return this.#load().then(() => {});
  }

  handle(message: Message, context: Context, signal?: AbortSignal): Promise<Message> {
    const handled = this.#queue.then(() => this.#handleNow(message, context, signal));
    // Settles with nothing: the queue must not hold the reply (a model) until the next message.
    this.#queue = handled.then(
      () => undefined,
      () => undefined,
    );
    return handled;
  }

  /** Nothing to free: the module stays in the process's module cache either way. */
  async stop(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }

  #load(): Promise<ClientApp> {
    this.#app ??= importApp(this.#clientappUrl, ClientApp, "clientapp");
    return this.#app;
  }

  async #handleNow(message: Message, context: Context, signal?: AbortSignal): Promise<Message> {
    const fail = (code: number, reason: string) =>
      new Message(new MessageError(code, reason), { replyTo: message });
    if (this.#closed) return fail(ErrorCode.CLIENT_APP_CRASHED, "the node is shutting down");
    let app: ClientApp;
    try {
      app = await this.#load();
    } catch (error) {
      return fail(ErrorCode.LOAD_CLIENT_APP_EXCEPTION, FedbridgeError.from(error).message);
    }
    const { ttl, createdAt } = message.metadata;
    const deadline = (createdAt + ttl - deadlineMargin(ttl)) * 1000;
    // The handler's own copy of the state: a handler given up on cannot change the node's.
    const own = createContext({
      ...context,
      state: decodeRecordDict(encodeRecordDict(context.state)),
    });
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    const givenUp = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve(`the ClientApp did not reply within the message's TTL (${ttl} s)`),
        Math.min(Math.max(0, deadline - Date.now()), 2 ** 31 - 1),
      );
      onAbort = () => resolve("the run was stopped; its ClientApp's reply is dropped");
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const outcome = await Promise.race([runClientApp(app, message, own), givenUp]);
      if (typeof outcome === "string") return fail(ErrorCode.CLIENT_APP_CRASHED, outcome);
      context.state = own.state;
      return outcome;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
