import type { Message } from "../message/message.ts";
import type { Context } from "./context.ts";

/** Handles one message: the shape of a ClientApp handler and of each layer of mods. */
export type ClientAppCallable = (message: Message, context: Context) => Promise<Message>;

/** A handler as users write it; it may be synchronous. */
export type Handler = (message: Message, context: Context) => Message | Promise<Message>;

/**
 * Middleware around a handler, as Flower 1.28's `Mod`: it may change the message, the
 * reply, or not call `callNext` at all.
 */
export type Mod = (
  message: Message,
  context: Context,
  callNext: ClientAppCallable,
) => Message | Promise<Message>;

/**
 * Wraps `handler` in `mods`, the first mod outermost: Flower's `make_ffn`, so mods see
 * messages in the order they are listed and replies in reverse.
 */
export function composeMods(handler: Handler, mods: readonly Mod[]): ClientAppCallable {
  let call: ClientAppCallable = async (message, context) => handler(message, context);
  for (const mod of [...mods].reverse()) {
    const next = call;
    call = async (message, context) => mod(message, context, next);
  }
  return call;
}
