import { create } from "@bufbuild/protobuf";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import type { Message } from "../message/message.ts";
import { messageToProto } from "../message/message-serde.ts";
import { type DeflatedObject, deflateMessage, objectsById } from "../objects/deflate.ts";
import { objectTreeOf } from "../objects/inflate.ts";
import { INLINE_MAX_BYTES } from "../superlink/fleet-inline.ts";

/**
 * A node's reply as it is pushed: its message id set from its content (the object leaves the
 * id out, so it can be set afterwards), its object tree, its objects by id (each joined only
 * as it is pushed), and whether it is small enough to go whole (fedbridge's inline
 * extension). No Node-only module: the browser's node uses it too.
 */
export function deflateReply(reply: Message): {
  tree: ObjectTree;
  objects: Map<string, DeflatedObject>;
  fitsInline: boolean;
} {
  const deflated = deflateMessage(reply);
  reply.metadata.messageId = deflated.id;
  const objects = objectsById(deflated);
  const size = [...objects.values()].reduce((sum, object) => sum + object.size, 0);
  return { tree: objectTreeOf(deflated), objects, fitsInline: size <= INLINE_MAX_BYTES };
}

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
