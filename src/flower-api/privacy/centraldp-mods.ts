import { FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Context } from "../app/context.ts";
import type { ClientAppCallable, Mod } from "../app/mod.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { MessageType, parseMessageType } from "../message/message-type.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import {
  computeClipModelUpdate,
  floatArraysOf,
  KEY_CLIPPING_NORM,
  KEY_NORM_BIT,
  withValues,
} from "./differential-privacy.ts";

/**
 * Client-side fixed clipping, as Flower 1.28's `fixedclipping_mod`, for
 * `DifferentialPrivacyClientSideFixedClipping`: clips the update the handler returns
 * (reply − received model) to the `clipping_norm` the wrapper sent. Put it last among mods
 * that change the model. It acts on train messages and passes others through (Flower's docs
 * say it operates on train messages; register it on the train handler all the same).
 * Its checks fail with a MOD_FAILED_PRECONDITION error reply, as Flower's.
 */
export const fixedClippingMod: Mod = (message, context, callNext) =>
  clippingMod("fixedClippingMod", false, message, context, callNext);

/**
 * Client-side adaptive clipping, as Flower 1.28's `adaptiveclipping_mod`, for
 * `DifferentialPrivacyClientSideAdaptiveClipping`: clips as `fixedClippingMod` does and adds
 * `norm_bit` (1 when the update was clipped) to the reply's only MetricRecord, from which
 * the server updates the norm.
 */
export const adaptiveClippingMod: Mod = (message, context, callNext) =>
  clippingMod("adaptiveClippingMod", true, message, context, callNext);

async function clippingMod(
  name: string,
  adaptive: boolean,
  message: Message,
  context: Context,
  callNext: ClientAppCallable,
): Promise<Message> {
  if (!isTrain(message)) return callNext(message, context);
  const content = message.content;
  if (content.arrayRecords.size !== 1)
    return multiRecordError(name, message, "ArrayRecord", content.arrayRecords.size);
  if (content.configRecords.size !== 1)
    return multiRecordError(name, message, "ConfigRecord", content.configRecords.size);
  const config = [...content.configRecords.values()][0];
  const clippingNorm = config?.get(KEY_CLIPPING_NORM);
  if (typeof clippingNorm !== "number" && typeof clippingNorm !== "bigint") {
    return modError(
      message,
      `${name} requires the key '${KEY_CLIPPING_NORM}' to be present in the ConfigRecord, but it was not found. Please ensure the DifferentialPrivacyClientSide wrapper is used in the ServerApp.`,
    );
  }
  const received = [...content.arrayRecords.values()][0] as ArrayRecord;

  const reply = await callNext(message, context);
  if (reply.hasError()) return reply;
  const out = reply.content;
  if (out.arrayRecords.size !== 1)
    return multiRecordError(name, message, "ArrayRecord", out.arrayRecords.size);
  if (adaptive && out.metricRecords.size !== 1)
    return multiRecordError(name, message, "MetricRecord", out.metricRecords.size);
  const [key, sent] = [...out.arrayRecords][0] as [string, ArrayRecord];
  if (!sameKeys(received, sent)) return keyMismatchError(name, message);
  try {
    const values = floatArraysOf(sent, name);
    const normBit = computeClipModelUpdate(
      values,
      floatArraysOf(received, name),
      Number(clippingNorm),
    );
    out.set(key, withValues(sent, values));
    // A MetricRecord holds no booleans: the bit travels as an int, as in Flower.
    if (adaptive)
      [...out.metricRecords.values()][0]?.setWithKind(KEY_NORM_BIT, normBit ? 1 : 0, "sint64");
  } catch (cause) {
    return modError(message, `${name}: ${FedbridgeError.from(cause).message}`);
  }
  return reply;
}

/** Whether the instruction is a train message (of any action). */
export function isTrain(message: Message): boolean {
  return parseMessageType(message.metadata.messageType)?.category === MessageType.TRAIN;
}

/** Whether two ArrayRecords have the same keys in the same order. */
export function sameKeys(a: ArrayRecord, b: ArrayRecord): boolean {
  const keysA = [...a.keys()];
  const keysB = [...b.keys()];
  return keysA.length === keysB.length && keysA.every((k, i) => k === keysB[i]);
}

/** The error reply of a mod whose precondition failed (Flower's `_handle_err`). */
export function modError(instruction: Message, reason: string): Message {
  return new Message(new MessageError(ErrorCode.MOD_FAILED_PRECONDITION, reason), {
    replyTo: instruction,
  });
}

export function multiRecordError(
  name: string,
  instruction: Message,
  recordType: string,
  count: number,
): Message {
  return modError(
    instruction,
    `${name} expects exactly one ${recordType}, but found ${count} ${recordType}(s).`,
  );
}

export function keyMismatchError(name: string, instruction: Message): Message {
  return modError(
    instruction,
    `${name} expects the keys in the ArrayRecord of the reply message to match those from the ArrayRecord that the ClientApp received, but they do not.`,
  );
}
