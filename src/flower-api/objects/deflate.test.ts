import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { decodeMessage } from "../message/message-serde.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import {
  ARRAY_CHUNK_SIZE,
  computeMessageId,
  deflateArray,
  deflateMessage,
  deflateMessages,
  objectsById,
} from "./deflate.ts";
import { pythonJson } from "./python-json.ts";

const fixtures = new URL("../../../../shared/fixtures/flower-1.28/", import.meta.url);

describe("deflate (Flower's object ids)", () => {
  it("computes the id Flower 1.28 gave message.pb", () => {
    const manifest = JSON.parse(readFileSync(new URL("MANIFEST.json", fixtures), "utf8"));
    const message = decodeMessage(new Uint8Array(readFileSync(new URL("message.pb", fixtures))));
    expect(computeMessageId(message)).toBe(manifest["message.pb"].object_id);
  });

  it("reproduces the worked example of FLOWER-WIRE.md §4", () => {
    const content = new RecordDict({ config: new ConfigRecord({ lr: 0.1 }) });
    const message = new Message(content, {
      metadata: {
        runId: 1n,
        messageId: "",
        srcNodeId: 1n,
        dstNodeId: 42n,
        replyToMessageId: "",
        groupId: "1",
        ttl: 43200,
        messageType: "train",
        createdAt: 1750000000,
      },
    });
    const tree = deflateMessage(message);
    expect(tree.children[0]?.children[0]?.id).toBe(
      "efc015c52574c8eaa1cccaf60191f2106bc548d18675ab0e599b2956d841edbb",
    );
    expect(tree.children[0]?.id).toBe(
      "1c950f08490ce181e4613b5ef059071a853dc363ef6fa3a9b8ca8f2beed7f302",
    );
    expect(tree.id).toBe("d5b8a68f88f7660973d72134fd1da183dac03f6abf023f8155182367071e61ac");
  });

  it("splits array data into 5 MiB chunks and lists repeated chunks once", () => {
    const data = new Uint8Array(2 * ARRAY_CHUNK_SIZE + 1); // two equal chunks and a tail
    const deflated = deflateArray(
      new FlowerArray({ dtype: "uint8", shape: [data.length], stype: "raw", data }),
    );
    expect(deflated.children).toHaveLength(2);
    const body = new TextDecoder().decode(deflated.bytes.subarray(deflated.bytes.indexOf(0) + 1));
    expect(JSON.parse(body).arraychunk_ids).toEqual([0, 0, 1]);
  });

  it("joins an object's bytes anew for a push, without keeping them, and knows their size", () => {
    const data = new Uint8Array(ARRAY_CHUNK_SIZE + 3).fill(7);
    const chunk = deflateArray(
      new FlowerArray({ dtype: "uint8", shape: [data.length], stype: "raw", data }),
    ).children[0];
    if (chunk === undefined) throw new Error("no chunk");
    const first = chunk.join();
    const second = chunk.join();
    // Each push joins anew: nothing of the model stays joined once its objects are pushed.
    // Compared by hand: on large typed arrays vitest's toEqual, and a failing toBe (also
    // under .not), walk every element, which took two minutes here.
    expect(second === first).toBe(false);
    const same = (a: Uint8Array, b: Uint8Array) =>
      Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
    expect(same(second, first)).toBe(true);
    expect(chunk.size).toBe(first.length);
    // As pieces: the header, then a view of the array's own bytes, never copied.
    const pieces = chunk.pieces();
    expect(pieces).toHaveLength(2);
    expect((pieces[1] as Uint8Array).buffer).toBe(data.buffer);
    expect(same(Buffer.concat(pieces), first)).toBe(true);
    // Bytes asked for (a SuperLink's store keeps them) are joined once and shared.
    expect(same(chunk.bytes, first)).toBe(true);
    expect(chunk.join()).toBe(chunk.bytes);
    expect(
      objectsById(
        deflateMessage(
          new Message(
            new RecordDict({
              a: new ArrayRecord({
                x: new FlowerArray({ dtype: "uint8", shape: [data.length], stype: "raw", data }),
              }),
            }),
            {
              metadata: {
                runId: 1n,
                messageId: "",
                srcNodeId: 1n,
                dstNodeId: 2n,
                replyToMessageId: "",
                groupId: "1",
                ttl: 60,
                messageType: "train",
                createdAt: 1,
              },
            },
          ),
        ),
      ).size,
    ).toBe(
      // message, record dict, array record, array, and its two chunks
      6,
    );
  });

  it("writes JSON as Python's json.dumps does", () => {
    expect(pythonJson({ a: 'é\n"', b: [1, 2], c: "😀" })).toBe(
      '{"a": "\\u00e9\\n\\"", "b": [1, 2], "c": "\\ud83d\\ude00"}',
    );
    expect(() => pythonJson({ x: 0.5 })).toThrow(/integers only/);
  });

  it("gives an ArrayRecord the same id wherever it is sent", () => {
    const arrays = ArrayRecord.fromTypedArrays([{ values: new Float32Array([1]), shape: [1] }]);
    const to = (dstNodeId: bigint) =>
      new Message(new RecordDict({ arrays }), { dstNodeId, messageType: "train" });
    const [a, b] = [deflateMessage(to(2n)), deflateMessage(to(3n))];
    expect(a.children[0]?.id).toBe(b.children[0]?.id);
    expect(a.id).not.toBe(b.id);
  });

  it("deflates a batch as one message at a time, a shared content once (the same object)", () => {
    const arrays = ArrayRecord.fromTypedArrays([{ values: new Float32Array([1]), shape: [1] }]);
    const shared = new RecordDict({ arrays });
    const batch = [
      new Message(shared, { dstNodeId: 2n, messageType: "train" }),
      new Message(shared, { dstNodeId: 3n, messageType: "train" }),
      new Message(new RecordDict({ c: new ConfigRecord({ x: 1 }) }), {
        dstNodeId: 4n,
        messageType: "evaluate",
      }),
    ];
    const deflated = deflateMessages(batch);
    expect(deflated.map((d) => d.id)).toEqual(batch.map(computeMessageId));
    expect(deflated[0]?.children[0]).toBe(deflated[1]?.children[0]);
    expect(deflated[2]?.children[0]?.id).toBe(deflateMessage(batch[2] as Message).children[0]?.id);
  });
});

describe("deflate keeps insertion order of names", () => {
  it("writes integer-like names where they were inserted, as Python's dict does", () => {
    const one = ArrayRecord.fromTypedArrays([{ values: new Float32Array([1]), shape: [1] }]).get(
      "0",
    ) as FlowerArray;
    const record = new ArrayRecord([
      ["b", one],
      ["10", one],
    ]);
    const message = new Message(new RecordDict({ arrays: record }), {
      dstNodeId: 2n,
      messageType: "train",
    });
    const recordObject = deflateMessage(message).children[0]?.children[0];
    const body = new TextDecoder().decode(
      recordObject?.bytes.subarray((recordObject?.bytes.indexOf(0) ?? 0) + 1),
    );
    expect(body.indexOf('"b"')).toBeLessThan(body.indexOf('"10"'));
  });
});
