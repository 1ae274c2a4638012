import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Message } from "../message/message.ts";
import { type MessageCategory, MessageType, parseMessageType } from "../message/message-type.ts";
import type { Context } from "./context.ts";
import { type ClientAppCallable, composeMods, type Handler, type Mod } from "./mod.ts";

export interface ClientAppOptions {
  /** Mods around every handler, the first outermost. Default: none. */
  mods?: readonly Mod[];
}

export interface HandlerOptions {
  /** Mods around this handler only, inside the app's mods. Default: none. */
  mods?: readonly Mod[];
}

/** Setup before and teardown after each message: code before the `yield`, then after it. */
export type Lifespan = (
  context: Context,
) => AsyncGenerator<unknown, void> | Generator<unknown, void>;

/**
 * The node side of an app, as Flower 1.28's `ClientApp`: handlers registered by message
 * category (`train`, `evaluate`, `query`) and action, wrapped in mods.
 *
 * @example
 * export const app = new ClientApp();
 * app.train(async (msg, context) => {
 *   const arrays = msg.content.get("arrays");
 *   return new Message(new RecordDict({ arrays, metrics }), { replyTo: msg });
 * });
 * app.train("finetune", finetune); // messages of type "train.finetune"
 */
export class ClientApp {
  readonly #mods: readonly Mod[];
  readonly #handlers = new Map<string, ClientAppCallable>();
  #lifespan: Lifespan | undefined;

  constructor(options: ClientAppOptions = {}) {
    this.#mods = options.mods ?? [];
  }

  train(handler: Handler): this;
  train(action: string, handler: Handler, options?: HandlerOptions): this;
  train(...args: RegisterArgs): this {
    return this.#register(MessageType.TRAIN, args);
  }

  evaluate(handler: Handler): this;
  evaluate(action: string, handler: Handler, options?: HandlerOptions): this;
  evaluate(...args: RegisterArgs): this {
    return this.#register(MessageType.EVALUATE, args);
  }

  query(handler: Handler): this;
  query(action: string, handler: Handler, options?: HandlerOptions): this;
  query(...args: RegisterArgs): this {
    return this.#register(MessageType.QUERY, args);
  }

  lifespan(lifespan: Lifespan): this {
    this.#lifespan = lifespan;
    return this;
  }

  /**
   * Handles one instruction and returns the handler's reply. Throws when the type has no
   * handler, the handler throws, or the handler returns something that is not a reply to
   * `message`; `runClientApp` turns that into an error reply.
   */
  async call(message: Message, context: Context): Promise<Message> {
    const type = message.metadata.messageType;
    const parsed = parseMessageType(type);
    if (parsed === undefined)
      throw new FedbridgeError(Code.InvalidArgument, `invalid message type '${type}'`);
    const handler = this.#handlers.get(`${parsed.category}.${parsed.action}`);
    if (handler === undefined) {
      throw new FedbridgeError(
        Code.Unimplemented,
        `no ${parsed.category} function registered with name '${parsed.action}'`,
      );
    }
    const lifespan = this.#lifespan?.(context);
    await lifespan?.next();
    try {
      return await handler(message, context);
    } finally {
      await lifespan?.next();
    }
  }

  #register(category: MessageCategory, args: RegisterArgs): this {
    const [action, handler, options] =
      typeof args[0] === "string" ? args : (["default", args[0]] as const);
    if (typeof handler !== "function")
      throw new FedbridgeError(Code.InvalidArgument, `${category} handler must be a function`);
    if (parseMessageType(`${category}.${action}`) === undefined) {
      throw new FedbridgeError(Code.InvalidArgument, `invalid action name '${action}'`);
    }
    const inner = composeMods(handler, options?.mods ?? []);
    this.#handlers.set(`${category}.${action}`, composeMods(inner, this.#mods));
    return this;
  }
}

type RegisterArgs = [Handler] | [string, Handler, (HandlerOptions | undefined)?];
