import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CellServer } from "../cell/cell-server.ts";
import type { Payload } from "../cell/chunk-sender.ts";
import type { IncomingPayload } from "../cell/incoming-payload.ts";
import type { MulticastReply } from "../job-process/job-protocol.ts";
import { decodeTaskFrame } from "../protocol/task-frame.ts";
import { SiteCalls } from "./site-calls.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/**
 * Cells whose sites are all online and answer a task with its body reversed: `sized`, with its
 * size up front; otherwise in 16 KiB chunks without one, as a reply streamed from a file is.
 */
function echoingCells(sized: boolean): { cells: CellServer; sent: Map<string, Uint8Array[]> } {
  const sent = new Map<string, Uint8Array[]>();
  const requestStream = async (site: string, _topic: string, payload: Payload) => {
    const pieces: Uint8Array[] = [];
    for await (const piece of payload as AsyncIterable<Uint8Array>) pieces.push(piece);
    sent.set(site, pieces);
    const { body } = decodeTaskFrame(Buffer.concat(pieces));
    const reply = Uint8Array.from(body).reverse();
    return {
      size: sized ? reply.length : undefined,
      bytes: async () => reply,
      chunks: async function* () {
        for (let at = 0; at < reply.length; at += 16 * 1024)
          yield reply.subarray(at, at + 16 * 1024);
      },
    } as unknown as IncomingPayload;
  };
  const cells = {
    site: () => ({ online: true }),
    subscribe: () => () => {},
    requestStream,
  } as unknown as CellServer;
  return { cells, sent };
}

async function multicast(size: number, siteMeta?: Record<string, { n: number }>, sized = true) {
  const dir = await mkdtemp(join(tmpdir(), "site-calls-"));
  folders.push(dir);
  const file = join(dir, "payload");
  const payload = Uint8Array.from({ length: size }, (_, i) => i % 251);
  await writeFile(file, payload);
  const { cells, sent } = echoingCells(sized);
  const replies: MulticastReply[] = [];
  await new SiteCalls(cells).multicast(
    "job-1",
    {
      type: "multicast",
      id: 7,
      topic: "train",
      file,
      sites: ["site-1", "site-2"],
      ...(siteMeta ? { siteMeta } : {}),
    },
    join(dir, "replies"),
    (reply) => replies.push(reply),
  );
  return { payload, sent, replies };
}

describe("SiteCalls.multicast", () => {
  it.each([
    ["a small payload, read once for all sites", 3_000],
    ["a large payload, read from disk per site in 1 MiB pieces", 2.5 * 2 ** 20],
  ])("sends %s, and hands each site's reply over", async (_, size) => {
    const { payload, sent, replies } = await multicast(size);
    for (const site of ["site-1", "site-2"]) {
      const pieces = sent.get(site) as Uint8Array[];
      const frame = decodeTaskFrame(Buffer.concat(pieces));
      expect([frame.jobId, frame.topic, frame.meta]).toEqual(["job-1", "train", undefined]);
      expect(Buffer.from(frame.body).equals(payload)).toBe(true);
      expect(pieces.length).toBe(size > 2 ** 20 ? 1 + Math.ceil(size / 2 ** 20) : 2);
    }
    // Sites answer in any order.
    replies.sort((a, b) => a.site.localeCompare(b.site));
    expect(replies.map((r) => [r.site, r.ok])).toEqual([
      ["site-1", true],
      ["site-2", true],
    ]);
    // A reply up to 64 KiB crosses to the job whole; a larger one waits in a file.
    for (const reply of replies) {
      const ok = reply as Extract<MulticastReply, { ok: true }>;
      expect("bytes" in ok).toBe(size <= 64 * 1024);
      const bytes = "bytes" in ok ? ok.bytes : await readFile(ok.file);
      expect(Buffer.from(bytes).equals(payload.reverse())).toBe(true);
      payload.reverse(); // back, for the next site
    }
  });

  it.each([
    ["a small reply", 60 * 1024],
    ["a reply past 64 KiB", 200 * 1024],
  ])(
    "takes %s that comes without its size whole or through a file, by its bytes",
    async (_, size) => {
      const { payload, replies } = await multicast(size, undefined, false);
      payload.reverse();
      for (const reply of replies) {
        const ok = reply as Extract<MulticastReply, { ok: true }>;
        expect("bytes" in ok).toBe(size <= 64 * 1024);
        const bytes = "bytes" in ok ? ok.bytes : await readFile(ok.file);
        expect(Buffer.from(bytes).equals(payload)).toBe(true);
      }
    },
  );

  it("gives each site its own meta entries in its task's header, and no other site's", async () => {
    const siteMeta = { "site-1": { n: 1 }, "site-2": { n: 2 } };
    const { sent } = await multicast(100, siteMeta);
    for (const [site, meta] of Object.entries(siteMeta)) {
      const frame = decodeTaskFrame(Buffer.concat(sent.get(site) as Uint8Array[]));
      expect(frame.meta).toEqual(meta);
    }
  });
});
