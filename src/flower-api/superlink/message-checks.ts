/**
 * What the SuperLink refuses, checked as Flower's validator does: an instruction a ServerApp
 * process pushes over ServerAppIo, and a reply a node pushes over the Fleet API. A refusal is
 * an InvalidArgument that says which rule the message broke.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type {
  Message as MessageProto,
  Metadata,
  ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import type { Message } from "../message/message.ts";
import { messageFromProto } from "../message/message-serde.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { type DeflatedObject, deflateMessage } from "../objects/deflate.ts";
import type { QueuedInstruction } from "./instruction-queue.ts";

/** Flower's MESSAGE_TTL_TOLERANCE, in seconds. */
const TTL_TOLERANCE = 0.1;
/** Flower refuses replies created before this (2025-02-28). */
const MIN_CREATED_AT = 1_740_700_800;

/**
 * Checks an instruction pushed over ServerAppIo (metadata and object tree; the records follow
 * as objects); `pushedAlready` tells whether its id is taken. Returns its metadata and tree.
 */
export function checkAppInstruction(
  runId: bigint,
  proto: MessageProto,
  tree: ObjectTree | undefined,
  pushedAlready: (messageId: string) => boolean,
): { metadata: Metadata; tree: ObjectTree } {
  const m = proto.metadata;
  const refuse = (why: string) =>
    new FedbridgeError(Code.InvalidArgument, `Malformed PushMessages: ${why}`);
  if (m === undefined || tree === undefined) throw refuse("a message without metadata or tree");
  if (m.runId !== runId) throw refuse("`Message.metadata` has mismatched `run_id`");
  if (m.messageId === "" || tree.objectId !== m.messageId)
    throw refuse("its message id is not the root of its object tree");
  if (m.srcNodeId !== SERVER_NODE_ID || m.dstNodeId === SERVER_NODE_ID)
    throw refuse("an instruction goes from node 1 to another node");
  if (m.replyToMessageId !== "") throw refuse("an instruction replies to nothing");
  if (m.messageType === "" || !(m.ttl > 0) || m.createdAt < MIN_CREATED_AT)
    throw refuse("message type, ttl and created_at must be set");
  if (pushedAlready(m.messageId)) throw refuse(`message ${m.messageId} was pushed already`);
  return { metadata: m, tree };
}

/** A reply that passed its checks, with the instruction it answers. */
export interface CheckedReply {
  metadata: Metadata;
  tree: ObjectTree;
  instruction: QueuedInstruction;
  /** The reply, and it deflated, when the node sent it whole (inline). */
  inline: { message: Message; deflated: DeflatedObject } | undefined;
}

/**
 * Checks a node's reply against the instruction it answers (`instructionOf` finds live ones).
 * An `inline` reply carries its records with it: its content must hash to its id.
 */
export function checkReply(
  nodeId: bigint,
  proto: MessageProto,
  tree: ObjectTree | undefined,
  inline: boolean,
  instructionOf: (id: string) => QueuedInstruction | undefined,
): CheckedReply {
  const m = proto.metadata;
  const refuse = (why: string) => new FedbridgeError(Code.InvalidArgument, `reply refused: ${why}`);
  if (m === undefined || tree === undefined) throw refuse("it has no metadata or no object tree");
  if (m.messageId === "" || tree.objectId !== m.messageId)
    throw refuse("its message id is not the root of its object tree");
  const instruction = instructionOf(m.replyToMessageId);
  if (instruction === undefined)
    throw refuse(`no instruction ${m.replyToMessageId || "(empty)"} is waiting for it`);
  const ins = instruction.message.metadata;
  if (m.srcNodeId !== nodeId || ins.dstNodeId !== nodeId)
    throw refuse("it does not come from the node the instruction was sent to");
  if (m.dstNodeId !== SERVER_NODE_ID || m.runId !== ins.runId)
    throw refuse("wrong destination or run");
  if (m.messageType !== ins.messageType)
    throw refuse("its message type differs from the instruction's");
  if (m.createdAt < MIN_CREATED_AT || !(m.ttl > 0)) throw refuse("bad created_at or ttl");
  if (m.ttl > ins.createdAt + ins.ttl - m.createdAt + TTL_TOLERANCE)
    throw refuse("its ttl outlives the instruction");
  if (Date.now() > instruction.expiresAt) throw refuse("the instruction has expired");
  if ((proto.content !== undefined) === (proto.error !== undefined))
    throw refuse("it must carry content or an error, not both or neither");
  if (!inline) return { metadata: m, tree, instruction, inline: undefined };
  // The node sent the records with the message: its content must hash to the reply's id.
  const message = messageFromProto(proto);
  const deflated = deflateMessage(message);
  if (deflated.id !== m.messageId) throw refuse("its inline content does not match its message id");
  return { metadata: m, tree, instruction, inline: { message, deflated } };
}
