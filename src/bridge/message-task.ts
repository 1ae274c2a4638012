import type { JsonValue as ProtoJson } from "@bufbuild/protobuf";
import { z } from "zod";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { JsonValue } from "../flare-runtime/jobs/job-meta.ts";
import { DataKind, MetaKey, type Shareable } from "../flare-runtime/shareable/shareable.ts";
import { MessageError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { metadataFromJson, metadataToJson } from "../flower-api/message/message-serde.ts";
import type { Metadata } from "../flower-api/message/metadata.ts";
import { RecordDict } from "../flower-api/records/record-dict.ts";
import { recordDictFromProto, recordDictToProto } from "../flower-api/records/serde.ts";

/**
 * Flower messages as runtime tasks and back. A task carries the message's content as records
 * (so a site's privacy filters see real arrays and metrics); each receiving site gets its own
 * envelope in its own meta (Task.siteMeta). Messages that share their content (a strategy's
 * one model for every node) travel as one task, written once and streamed to every site; the
 * envelopes do not (1,000 sites each parsing all 1,000 envelopes was most of a round).
 */

/** The task every bridged message travels as. */
export const MESSAGE_TASK = "flower-message";

/**
 * One task for messages with the same content, each to one site: its data, and each site's
 * envelope (the message's metadata) as that site's meta.
 */
export function messagesToTask(messages: readonly { site: string; message: Message }[]): {
  data: Shareable;
  siteMeta: Record<string, { message: JsonValue }>;
} {
  const first = messages[0]?.message;
  if (first === undefined) throw new FedbridgeError(Code.Internal, "no message to send");
  const round = first.content.configRecords.get("config")?.get("server-round");
  return {
    data: {
      kind: first.metadata.messageType.startsWith("train") ? DataKind.WEIGHTS : DataKind.METRICS,
      records: recordDictToProto(first.content),
      meta: typeof round === "number" ? { [MetaKey.ROUND]: round } : {},
    },
    siteMeta: Object.fromEntries(
      messages.map(({ site, message }) => [
        site,
        { message: metadataToJson(message.metadata) as JsonValue },
      ]),
    ),
  };
}

/** At a site: the message the task carries for it (its envelope merged into the task's meta). */
export function messageForSite(task: Shareable, site: string): Message {
  const metadata = task.meta.message;
  if (metadata === undefined)
    throw new FedbridgeError(Code.InvalidArgument, `the task carries no message for ${site}`);
  return new Message(recordDictFromProto(task.records), { metadata: readMetadata(metadata) });
}

/** A ClientApp's reply as a task result: its content as records, or its error. */
export function replyToShareable(reply: Message): Shareable {
  const meta = { reply: metadataToJson(reply.metadata) as JsonValue };
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
  const metadata = readMetadata(result.meta.reply);
  if (result.meta.error !== undefined) {
    const error = errorShape.safeParse(result.meta.error);
    if (!error.success)
      throw new FedbridgeError(Code.InvalidArgument, "a bridged reply carries a malformed error");
    return new Message(new MessageError(error.data.code, error.data.reason), { metadata });
  }
  return new Message(recordDictFromProto(result.records), { metadata });
}

/** A reply's error in a task result's meta. */
const errorShape = z.strictObject({ code: z.int().min(0), reason: z.string() });

/** A message's metadata from a task's meta (protobuf's JSON form), refused if malformed. */
function readMetadata(json: JsonValue | undefined): Metadata {
  try {
    if (json === undefined) throw new Error("it is missing");
    return metadataFromJson(json as ProtoJson);
  } catch (error) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `a bridged message has no valid metadata: ${FedbridgeError.from(error).message}`,
    );
  }
}
