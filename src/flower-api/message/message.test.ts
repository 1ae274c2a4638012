import { describe, expect, it } from "vitest";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ErrorCode, MessageError } from "./error.ts";
import { Message } from "./message.ts";
import { decodeMessage, encodeMessage } from "./message-serde.ts";
import { parseMessageType } from "./message-type.ts";

const instruction = (ttl = 100) =>
  new Message(new RecordDict({ config: new ConfigRecord({ lr: 0.1 }) }), {
    dstNodeId: 42n,
    messageType: "train",
    ttl,
  });

describe("Message", () => {
  it("builds instructions with Flower's defaults", () => {
    const msg = new Message(new RecordDict(), { dstNodeId: 5n, messageType: "evaluate" });
    expect(msg.metadata).toMatchObject({
      dstNodeId: 5n,
      messageType: "evaluate",
      ttl: 43_200,
      groupId: "",
      messageId: "",
    });
    expect(msg.hasContent()).toBe(true);
    expect(msg.hasError()).toBe(false);
    expect(() => msg.error).toThrow(/has no error/);
  });

  it("addresses a reply back to the sender and caps its TTL at the instruction's remaining life", () => {
    const ins = instruction(100);
    Object.assign(ins.metadata, {
      messageId: "abc",
      srcNodeId: 1n,
      runId: 9n,
      createdAt: ins.metadata.createdAt - 40,
    });
    const reply = new Message(new RecordDict(), { replyTo: ins, ttl: 1000 });
    expect(reply.metadata).toMatchObject({
      runId: 9n,
      srcNodeId: 42n,
      dstNodeId: 1n,
      replyToMessageId: "abc",
      messageType: "train",
    });
    expect(reply.metadata.ttl).toBeGreaterThan(59);
    expect(reply.metadata.ttl).toBeLessThanOrEqual(60);
    expect(new Message(new RecordDict(), { replyTo: ins, ttl: 10 }).metadata.ttl).toBe(10);
  });

  it("carries an error instead of content, through the wire format", () => {
    const ins = instruction();
    const reply = decodeMessage(
      encodeMessage(
        new Message(new MessageError(ErrorCode.NODE_UNAVAILABLE, "gone"), { replyTo: ins }),
      ),
    );
    expect(reply.hasError()).toBe(true);
    expect(reply.error.code).toBe(5);
    expect(String(reply.error)).toBe("NODE_UNAVAILABLE: gone");
    expect(() => reply.content).toThrow(/has no content/);
  });

  it("refuses an instruction without a destination or type, or carrying an error", () => {
    expect(
      () => new Message(new RecordDict(), { dstNodeId: 1 as never, messageType: "train" }),
    ).toThrow(/bigint/);
    expect(() => new Message(new RecordDict(), { dstNodeId: 1n, messageType: "" })).toThrow(
      /messageType is required/,
    );
    expect(() => new Message(new MessageError(0), { dstNodeId: 1n, messageType: "train" })).toThrow(
      /carries content/,
    );
  });
});

describe("parseMessageType", () => {
  it("splits category and action", () => {
    expect(parseMessageType("train")).toEqual({ category: "train", action: "default" });
    expect(parseMessageType("query.stats")).toEqual({ category: "query", action: "stats" });
    expect(parseMessageType("fit")).toBeUndefined();
    expect(parseMessageType("train.a.b")).toBeUndefined();
  });
});
