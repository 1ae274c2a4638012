import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { JsonValue } from "../flare-runtime/jobs/job-meta.ts";
import { DataKind, MetaKey, type Shareable } from "../flare-runtime/task/shareable.ts";
import { Error as FlowerError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import type { Metadata } from "../flower-api/message/metadata.ts";
import { RecordDict } from "../flower-api/records/record-dict.ts";
import { recordDictFromProto, recordDictToProto } from "../flower-api/records/serde.ts";

/**
 * Flower messages as runtime tasks and back. A task carries the message's content as records
 * (so a site's privacy filters see real arrays and metrics) and, in its meta, each receiving
 * site's envelope: messages that share their content (a strategy's one model for every node)
 * travel as one task, written once and streamed to every site.
 */

/** The task every bridged message travels as. */
export const MESSAGE_TASK = "flower-message";

/** One task for messages with the same content, each to one site. */
export function messagesToShareable(
  messages: readonly { site: string; message: Message }[],
): Shareable {
  const first = messages[0]?.message;
  if (first === undefined) throw new FedbridgeError(Code.Internal, "no message to send");
  const round = first.content.configRecords.get("config")?.get("server-round");
  return {
    kind: first.metadata.messageType.startsWith("train") ? DataKind.WEIGHTS : DataKind.METRICS,
    records: recordDictToProto(first.content),
    meta: {
      ...(typeof round === "number" ? { [MetaKey.ROUND]: round } : {}),
      messages: Object.fromEntries(
        messages.map(({ site, message }) => [site, envelope(message.metadata)]),
      ),
    },
  };
}

/** At a site: the message the task carries for it. */
export function messageForSite(task: Shareable, site: string): Message {
  const envelopes = task.meta.messages as Record<string, JsonValue> | undefined;
  const metadata = envelopes?.[site];
  if (metadata === undefined)
    throw new FedbridgeError(Code.InvalidArgument, `the task carries no message for ${site}`);
  return new Message(recordDictFromProto(task.records), { metadata: fromEnvelope(metadata) });
}

/** A ClientApp's reply as a task result: its content as records, or its error. */
export function replyToShareable(reply: Message): Shareable {
  const meta = { reply: envelope(reply.metadata) };
  if (reply.hasError())
    return {
      kind: "FLOWER_ERROR",
      records: recordDictToProto(new RecordDict()),
      meta: { ...meta, error: { code: reply.error.code, reason: reply.error.reason } },
    };
  const hasArrays = reply.content.arrayRecords.size > 0;
  return {
    kind: hasArrays ? DataKind.WEIGHTS : DataKind.METRICS,
    records: recordDictToProto(reply.content),
    meta,
  };
}

/** At the server: the reply a task result carries. */
export function replyFromShareable(result: Shareable): Message {
  const metadata = fromEnvelope(result.meta.reply ?? null);
  const error = result.meta.error as { code?: number; reason?: string } | undefined;
  if (error)
    return new Message(new FlowerError(Number(error.code ?? 0), String(error.reason ?? "")), {
      metadata,
    });
  return new Message(recordDictFromProto(result.records), { metadata });
}

/** Metadata as JSON (ids are uint64: strings). */
function envelope(metadata: Metadata): JsonValue {
  return {
    ...metadata,
    runId: String(metadata.runId),
    srcNodeId: String(metadata.srcNodeId),
    dstNodeId: String(metadata.dstNodeId),
  };
}

function fromEnvelope(json: JsonValue): Metadata {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new FedbridgeError(Code.InvalidArgument, "a bridged message has no envelope");
  const m = json as Record<string, JsonValue>;
  return {
    runId: BigInt(String(m.runId ?? 0)),
    messageId: String(m.messageId ?? ""),
    srcNodeId: BigInt(String(m.srcNodeId ?? 0)),
    dstNodeId: BigInt(String(m.dstNodeId ?? 0)),
    replyToMessageId: String(m.replyToMessageId ?? ""),
    groupId: String(m.groupId ?? ""),
    ttl: Number(m.ttl ?? 0),
    messageType: String(m.messageType ?? ""),
    createdAt: Number(m.createdAt ?? 0),
  };
}
