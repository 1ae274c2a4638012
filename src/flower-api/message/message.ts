import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { RecordDict } from "../records/record-dict.ts";
import { MessageError } from "./error.ts";
import { DEFAULT_TTL, type Metadata, nowSeconds } from "./metadata.ts";

/** Options of an instruction (a message from the ServerApp to a node). */
export interface InstructionOptions {
  dstNodeId: bigint;
  messageType: string;
  /** Seconds the instruction stays valid. Default: 12 hours. */
  ttl?: number;
  /** Groups messages, e.g. of one round. Default: "". */
  groupId?: string;
}

/** Options of a reply. */
export interface ReplyOptions {
  replyTo: Message;
  /** Seconds the reply stays valid; capped by the instruction's remaining life. */
  ttl?: number;
}

/** Rebuilds a message from its parts, e.g. after it crossed the wire. */
export interface RestoreOptions {
  metadata: Metadata;
}

/** How far a requested reply TTL may exceed the instruction's remaining life (Flower's tolerance). */
const TTL_TOLERANCE = 1e-1;

/**
 * A message between the ServerApp and a ClientApp, as Flower 1.28's `Message`: metadata and
 * either content (a RecordDict) or an error.
 *
 * @example
 * const ins = new Message(content, { dstNodeId, messageType: MessageType.TRAIN });
 * const reply = new Message(new RecordDict({ arrays, metrics }), { replyTo: ins });
 * const failed = new Message(new MessageError(ErrorCode.UNKNOWN, "no data"), { replyTo: ins });
 */
export class Message {
  readonly metadata: Metadata;
  #content: RecordDict | undefined;
  #error: MessageError | undefined;

  constructor(
    body: RecordDict | MessageError,
    options: InstructionOptions | ReplyOptions | RestoreOptions,
  ) {
    if (body instanceof MessageError) this.#error = body;
    else this.#content = body;
    if ("metadata" in options) {
      this.metadata = { ...options.metadata };
    } else if ("replyTo" in options) {
      if (!(body instanceof MessageError) && !isRecordDict(body))
        throw invalid("a reply's body must be a RecordDict or an Error");
      this.metadata = replyMetadata(options.replyTo, options.ttl);
    } else {
      if (body instanceof MessageError)
        throw invalid("an instruction carries content, not an Error");
      if (typeof options.dstNodeId !== "bigint")
        throw invalid("dstNodeId must be a bigint node id");
      if (typeof options.messageType !== "string" || options.messageType === "")
        throw invalid("messageType is required");
      this.metadata = {
        runId: 0n,
        messageId: "",
        srcNodeId: 0n,
        dstNodeId: options.dstNodeId,
        replyToMessageId: "",
        groupId: options.groupId ?? "",
        ttl: options.ttl ?? DEFAULT_TTL,
        messageType: options.messageType,
        createdAt: nowSeconds(),
      };
    }
  }

  get content(): RecordDict {
    if (this.#content === undefined)
      throw invalid(`message has no content; it carries an error (${this.#error})`);
    return this.#content;
  }

  get error(): MessageError {
    if (this.#error === undefined) throw invalid("message has no error; it carries content");
    return this.#error;
  }

  hasContent(): boolean {
    return this.#content !== undefined;
  }

  hasError(): boolean {
    return this.#error !== undefined;
  }

  /** Seconds until the TTL runs out (negative once it has). */
  remainingTtl(now = nowSeconds()): number {
    return this.metadata.createdAt + this.metadata.ttl - now;
  }
}

function replyMetadata(to: Message, ttl: number | undefined): Metadata {
  const createdAt = nowSeconds();
  const maxTtl = to.metadata.createdAt + to.metadata.ttl - createdAt;
  return {
    runId: to.metadata.runId,
    messageId: "",
    srcNodeId: to.metadata.dstNodeId,
    dstNodeId: to.metadata.srcNodeId,
    replyToMessageId: to.metadata.messageId,
    groupId: to.metadata.groupId,
    ttl: ttl !== undefined && ttl - maxTtl <= TTL_TOLERANCE ? ttl : maxTtl,
    messageType: to.metadata.messageType,
    createdAt,
  };
}

function isRecordDict(body: unknown): body is RecordDict {
  return body instanceof Map;
}

function invalid(message: string): FedbridgeError {
  return new FedbridgeError(Code.InvalidArgument, message);
}
