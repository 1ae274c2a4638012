/**
 * The error replies the SuperLink makes itself, as Flower's does, for an instruction no reply
 * will come for: its node went offline, its TTL ran out, or it is unknown here.
 */
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { DEFAULT_TTL, SERVER_NODE_ID } from "../message/metadata.ts";

/** NODE_UNAVAILABLE: the node missed its heartbeats. */
function nodeUnavailable(node: bigint | undefined): MessageError {
  return new MessageError(
    ErrorCode.NODE_UNAVAILABLE,
    `node ${node} failed to report a heartbeat within 2 × its expected interval`,
  );
}

/** The reply to an instruction whose node went offline before it replied. */
export function nodeUnavailableReply(instruction: Message): Message {
  return new Message(nodeUnavailable(instruction.metadata.dstNodeId), { replyTo: instruction });
}

/**
 * The reply a ServerApp process pulls for an instruction of its run whose node went offline
 * (`offline`), or that expired or is unknown (MESSAGE_UNAVAILABLE); an unknown one has no
 * instruction to reply to, so the reply names its id from the server to itself.
 */
export function appErrorReply(
  runId: bigint,
  instructionId: string,
  instruction: Message | undefined,
  offline: boolean,
): Message {
  const error = offline
    ? nodeUnavailable(instruction?.metadata.dstNodeId)
    : new MessageError(
        ErrorCode.MESSAGE_UNAVAILABLE,
        `message ${instructionId} is unknown here or its TTL ran out before a reply came`,
      );
  if (instruction) return new Message(error, { replyTo: instruction });
  return new Message(error, {
    metadata: {
      runId,
      messageId: "",
      srcNodeId: SERVER_NODE_ID,
      dstNodeId: SERVER_NODE_ID,
      replyToMessageId: instructionId,
      groupId: "",
      ttl: DEFAULT_TTL,
      messageType: "",
      createdAt: Date.now() / 1000,
    },
  });
}
