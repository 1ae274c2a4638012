import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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
  it("answers the same message sent again after a reconnection with the reply it had, once", async () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const first = instruction("a");
    await kept.keep(first, "content-1", replyTo(first));
    kept.newConnection();
    const again = instruction("b");
    const reply = await kept.take(again, "content-1");
    expect(reply?.metadata.replyToMessageId).toBe("b");
    expect(reply?.content.configRecords.get("m")?.get("loss")).toBe(1);
    expect(await kept.take(instruction("c"), "content-1")).toBeUndefined();
  });

  it("handles a message sent twice on one connection twice, and another content or type anew", async () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const first = instruction("a");
    await kept.keep(first, "content-1", replyTo(first));
    expect(await kept.take(instruction("b"), "content-1")).toBeUndefined();
    kept.newConnection();
    expect(await kept.take(instruction("c"), "content-2")).toBeUndefined();
    expect(await kept.take(instruction("d", "evaluate"), "content-1")).toBeUndefined();
  });

  it("keeps each run's latest reply, and older ones while they fit in 64 MB, oldest out first", async () => {
    const kept = new KeptReplies();
    kept.newConnection();
    const keep = (message: Message, contentId: string, megabytes: number) =>
      kept.keep(message, contentId, modelReplyTo(message, megabytes));
    await keep(instruction("a"), "small", 0);
    await keep(instruction("b", "train", 2n), "other-run", 40);
    await keep(instruction("c"), "model-1", 40);
    await keep(instruction("d"), "model-2", 40);
    await keep(instruction("e"), "model-3", 40);
    kept.newConnection();
    expect(await kept.take(instruction("f"), "small")).toBeUndefined();
    expect(await kept.take(instruction("g"), "model-1")).toBeUndefined();
    expect(await kept.take(instruction("h"), "model-2")).toBeDefined();
    expect(await kept.take(instruction("i"), "model-3")).toBeDefined();
    expect(await kept.take(instruction("j", "train", 2n), "other-run")).toBeDefined();
  });

  describe("with a folder", () => {
    const folders: string[] = [];
    const newFolder = async () => {
      const dir = await mkdtemp(join(tmpdir(), "kept-replies-"));
      folders.push(dir);
      return dir;
    };
    afterEach(async () => {
      await Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    });

    it("keeps a model-sized reply in a file, gives it back whole, then removes the file", async () => {
      const folder = join(await newFolder(), "kept");
      const kept = new KeptReplies({ folder });
      kept.newConnection();
      const first = instruction("a");
      const reply = modelReplyTo(first, 20);
      const values = [
        ...reply.content.arrayRecords.values(),
      ][0]?.toTypedArrays()[0] as Float32Array;
      values.forEach((_, i) => {
        values[i] = i % 1000;
      });
      const expected = [...reply.content.arrayRecords.values()][0]?.toTypedArrays();
      await kept.keep(first, "model", reply);
      expect(await readdir(folder)).toHaveLength(1);
      kept.newConnection();
      const again = await kept.take(instruction("b"), "model");
      expect(again?.metadata.replyToMessageId).toBe("b");
      const arrays = again?.content.arrayRecords.get("arrays") as ArrayRecord;
      const [back] = arrays.toTypedArrays();
      // Read back as a view of the file's buffer: aligned, not copied.
      expect(back).toBeInstanceOf(Float32Array);
      expect(back?.buffer.byteLength).toBeGreaterThan(back?.byteLength ?? 0);
      const bytes = (a: ArrayBufferView | undefined) =>
        Buffer.from(a?.buffer as ArrayBuffer, a?.byteOffset, a?.byteLength);
      expect(bytes(back).equals(bytes(expected?.[0]))).toBe(true);
      expect(await readdir(folder)).toHaveLength(0);
    });

    it("keeps a reply in memory when its file cannot be written, and says so", async () => {
      const blocked = join(await newFolder(), "a-file");
      await writeFile(blocked, "not a folder");
      const lines: string[] = [];
      const kept = new KeptReplies({ folder: blocked, log: (line) => lines.push(line) });
      kept.newConnection();
      const first = instruction("a");
      await kept.keep(first, "model", modelReplyTo(first, 20));
      expect(lines.join("\n")).toMatch(/kept in memory/);
      kept.newConnection();
      expect(await kept.take(instruction("b"), "model")).toBeDefined();
    });

    it("says a reply whose file was lost is lost, and handles the message anew", async () => {
      const folder = join(await newFolder(), "kept");
      const lines: string[] = [];
      const kept = new KeptReplies({ folder, log: (line) => lines.push(line) });
      kept.newConnection();
      const first = instruction("a");
      await kept.keep(first, "model", modelReplyTo(first, 20));
      const [file] = await readdir(folder);
      await writeFile(join(folder, file as string), new Uint8Array(3));
      kept.newConnection();
      expect(await kept.take(instruction("b"), "model")).toBeUndefined();
      expect(lines.join("\n")).toMatch(/kept reply is lost.*cut short/);
    });

    it("removes what it kept when it is closed, and files of replies it forgets", async () => {
      const folder = join(await newFolder(), "kept");
      const kept = new KeptReplies({ folder });
      kept.newConnection();
      for (const id of ["a", "b", "c"])
        await kept.keep(instruction(id), id, modelReplyTo(instruction(id), 40));
      // Each run's latest stays, older ones within 64 MB: one of the two older is forgotten.
      await expect.poll(() => readdir(folder)).toHaveLength(2);
      await kept.close();
      await expect(readdir(folder)).rejects.toThrow(/ENOENT/);
    });
  });
});
