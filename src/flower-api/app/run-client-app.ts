import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import type { ClientApp } from "./client-app.ts";
import type { Context } from "./context.ts";

/**
 * Runs a ClientApp on one instruction and always returns a reply: a handler that throws,
 * or returns anything but a reply to the instruction, gives an error reply
 * (CLIENT_APP_RAISED_EXCEPTION) so the server's round goes on with the other nodes.
 * Every mode (simulation, SuperNode, bridge) runs ClientApps through here.
 */
export async function runClientApp(
  app: ClientApp,
  message: Message,
  context: Context,
): Promise<Message> {
  try {
    const reply = await app.call(message, context);
    if (!(reply instanceof Message)) throw new TypeError("the handler did not return a Message");
    if (reply.metadata.replyToMessageId !== message.metadata.messageId) {
      throw new TypeError("the handler returned a message that is not a reply to the instruction");
    }
    return reply;
  } catch (cause) {
    const reason = `${FedbridgeError.from(cause).message}`;
    return new Message(new MessageError(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason), {
      replyTo: message,
    });
  }
}
