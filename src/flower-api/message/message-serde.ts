import { create, fromJson, type JsonValue, toBinary, toJson } from "@bufbuild/protobuf";
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
