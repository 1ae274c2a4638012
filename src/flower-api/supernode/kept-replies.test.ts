import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { KeptReplies } from "./kept-replies.ts";

const instruction = (id: string, type = "train", runId = 1n) => {
  const message = new Message(new RecordDict(), { dstNodeId: 5n, messageType: type });
  message.metadata.messageId = id;
  message.metadata.runId = runId;
  return message;
};
const modelReplyTo = (to: Message, megabytes: number) =>
  new Message(
    new RecordDict({
      arrays: ArrayRecord.fromTypedArrays([
        { values: new Float32Array(megabytes * 2 ** 18), shape: [megabytes * 2 ** 18] },
      ]),
    }),
    { replyTo: to },
  );
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

  it("keeps each run's latest reply, and older ones while they fit in 64 MB, oldest out first", () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const keep = (message: Message, contentId: string, megabytes: number) =>
      kept.keep(message, contentId, modelReplyTo(message, megabytes));
    keep(instruction("a"), "small", 0);
    keep(instruction("b", "train", 2n), "other-run", 40);
    keep(instruction("c"), "model-1", 40);
    keep(instruction("d"), "model-2", 40);
    keep(instruction("e"), "model-3", 40);
    kept.newConnection();
    expect(kept.take(instruction("f"), "small")).toBeUndefined();
    expect(kept.take(instruction("g"), "model-1")).toBeUndefined();
    expect(kept.take(instruction("h"), "model-2")).toBeDefined();
    expect(kept.take(instruction("i"), "model-3")).toBeDefined();
    expect(kept.take(instruction("j", "train", 2n), "other-run")).toBeDefined();
  });
});
