import { create } from "@bufbuild/protobuf";
import { type Message as MessageProto, MessageSchema } from "../../gen/flwr/proto/message_pb.ts";
import type { Message } from "../message/message.ts";
import { messageToProto } from "../message/message-serde.ts";

/**
 * What PushMessages carries for a node's reply: the whole message when it goes inline
 * (fedbridge's extension for small replies), else its metadata and error only, its content
 * following as objects, as a Flower SuperNode sends it. No Node-only module: the browser's
 * node uses it too.
 */
export function replyBody(reply: Message, inline: boolean): MessageProto {
  if (inline) return messageToProto(reply);
  return create(MessageSchema, {
    metadata: { ...reply.metadata },
    ...(reply.hasError()
      ? { error: { code: BigInt(reply.error.code), reason: reply.error.reason } }
      : { content: {} }),
  });
}
