import { create, fromJson, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
import { protoArrays } from "../../core/wire/record-arrays.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type Metadata as MetadataProto,
  MetadataSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { RecordDictSchema } from "../../gen/flwr/proto/recorddict_pb.ts";
import { decodeOrThrow, recordDictFromProto, recordDictToProto } from "../records/serde.ts";
import { MessageError } from "./error.ts";
import { Message } from "./message.ts";
import type { Metadata } from "./metadata.ts";

/** Messages to and from `flwr.proto.Message`, as Flower 1.28 serializes them. */

export function metadataToProto(metadata: Metadata): MetadataProto {
  return create(MetadataSchema, { ...metadata });
}

export function metadataFromProto(m: MetadataProto | undefined): Metadata {
  return {
    runId: m?.runId ?? 0n,
    messageId: m?.messageId ?? "",
    srcNodeId: m?.srcNodeId ?? 0n,
    dstNodeId: m?.dstNodeId ?? 0n,
    replyToMessageId: m?.replyToMessageId ?? "",
    groupId: m?.groupId ?? "",
    ttl: m?.ttl ?? 0,
    messageType: m?.messageType ?? "",
    createdAt: m?.createdAt ?? 0,
  };
}

/** Metadata as JSON (protobuf's JSON mapping: uint64 ids as strings), and back. */
export function metadataToJson(metadata: Metadata): JsonValue {
  return toJson(MetadataSchema, metadataToProto(metadata));
}

export function metadataFromJson(json: JsonValue): Metadata {
  return metadataFromProto(fromJson(MetadataSchema, json));
}

export function messageToProto(message: Message): MessageProto {
  return create(MessageSchema, {
    metadata: metadataToProto(message.metadata),
    ...(message.hasContent() ? { content: recordDictToProto(message.content) } : {}),
    ...(message.hasError()
      ? { error: { code: BigInt(message.error.code), reason: message.error.reason } }
      : {}),
  });
}

export function messageFromProto(proto: MessageProto): Message {
  const metadata = metadataFromProto(proto.metadata);
  const body = proto.error
    ? new MessageError(Number(proto.error.code), proto.error.reason)
    : recordDictFromProto(proto.content ?? create(RecordDictSchema));
  return new Message(body, { metadata });
}

export function encodeMessage(message: Message): Uint8Array {
  return toBinary(MessageSchema, messageToProto(message));
}

export function decodeMessage(bytes: Uint8Array): Message {
  return messageFromProto(decodeOrThrow(MessageSchema, bytes, "Message"));
}

/**
 * A message for another thread: its `flwr.proto.Message` bytes with every array's bytes left
 * out, and those bytes apart, in order, each in a buffer of its own to transfer. One copy of
 * each array, where encoding it whole would copy a large model several times over (protobuf's
 * writer grows its buffer and shifts each nested message's bytes to fit its length).
 */
export interface MessageParts {
  header: Uint8Array;
  arrays: Uint8Array[];
}

const NO_BYTES = new Uint8Array(0);

/** Arrays at least this large are moved when the sender gives them up (never a pooled slab). */
const MOVE_MIN_BYTES = 64 * 1024;

/**
 * Each array is copied, so the message's arrays stay whole for whoever else holds them, except
 * an array in shared memory (npyInSharedMemory), which both threads see, and, with `move` (the
 * sender gives the message's arrays up), a large one, which goes as the view it is, its whole
 * buffer moved with it (the transfer list holds it).
 */
export function messageToParts(message: Message, move = false): MessageParts {
  const proto = messageToProto(message);
  const arrays = proto.content ? protoArrays(proto.content) : [];
  const blobs = arrays.map(({ data }) =>
    data.buffer instanceof SharedArrayBuffer || (move && data.byteLength >= MOVE_MIN_BYTES)
      ? data
      : data.slice(),
  );
  for (const array of arrays) array.data = NO_BYTES;
  return { header: toBinary(MessageSchema, proto), arrays: blobs };
}

export function messageFromParts(parts: MessageParts): Message {
  const proto = decodeOrThrow(MessageSchema, parts.header, "Message");
  const arrays = proto.content ? protoArrays(proto.content) : [];
  if (arrays.length !== parts.arrays.length)
    throw new RangeError(`a message with ${arrays.length} arrays came with ${parts.arrays.length}`);
  arrays.forEach((array, i) => {
    array.data = parts.arrays[i] as Uint8Array;
  });
  return messageFromProto(proto);
}
