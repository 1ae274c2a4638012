import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { KeptReplies } from "./kept-replies.ts";

const instruction = (id: string, type = "train") => {
  const message = new Message(new RecordDict(), { dstNodeId: 5n, messageType: type });
  message.metadata.messageId = id;
  message.metadata.runId = 1n;
  return message;
};
const replyTo = (to: Message) =>
  new Message(new RecordDict({ m: new ConfigRecord({ loss: 1 }) }), { replyTo: to });

describe("KeptReplies", () => {
  it("answers the same message sent again after a reconnection with the reply it had, once", () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const first = instruction("a");
    kept.keep(first, "content-1", replyTo(first));
    kept.newConnection();
    const again = instruction("b");
    const reply = kept.take(again, "content-1");
    expect(reply?.metadata.replyToMessageId).toBe("b");
    expect(reply?.content.configRecords.get("m")?.get("loss")).toBe(1);
    expect(kept.take(instruction("c"), "content-1")).toBeUndefined();
  });

  it("handles a message sent twice on one connection twice, and another content or type anew", () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const first = instruction("a");
    kept.keep(first, "content-1", replyTo(first));
    expect(kept.take(instruction("b"), "content-1")).toBeUndefined();
    kept.newConnection();
    expect(kept.take(instruction("c"), "content-2")).toBeUndefined();
    expect(kept.take(instruction("d", "evaluate"), "content-1")).toBeUndefined();
  });
});
