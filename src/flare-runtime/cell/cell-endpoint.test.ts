import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { type CellFrame, CellFrameSchema } from "../../gen/fedbridge/v1/cell_pb.ts";
import { CellEndpoint } from "./cell-endpoint.ts";
import type { CellHandler } from "./incoming-requests.ts";
import type { EndpointSettings } from "./link-state.ts";

const KiB = 1024;

/** Two endpoints joined by an in-memory "stream" that goes through the wire encoding. */
function pair(options: Partial<EndpointSettings> = {}) {
  const settings = (self: string, peer: string): EndpointSettings => ({
    self,
    peer,
    chunkSize: 4 * KiB,
    window: 4,
    requestTimeoutMs: 5_000,
    maxRemembered: 100,
    maxRememberedBytes: 1 << 20,
    ...options,
  });
  const handlers = { a: new Map<string, CellHandler>(), b: new Map<string, CellHandler>() };
  const a = new CellEndpoint(settings("a", "b"), handlers.a);
  const b = new CellEndpoint(settings("b", "a"), handlers.b);
  const sent = { a: [] as CellFrame[], b: [] as CellFrame[] };
  let generation = 0;
  const wire = (to: CellEndpoint, log: CellFrame[]) => {
    const g = generation;
    return (frame: CellFrame) => {
      const bytes = toBinary(CellFrameSchema, frame);
      log.push(frame);
      setImmediate(() => {
        if (g === generation) to.handleFrame(fromBinary(CellFrameSchema, bytes));
      });
    };
  };
  const instances = { a: "a-1", b: "b-1" };
  const connect = () => {
    generation++;
    a.attach(wire(b, sent.a), 4, instances.b);
    b.attach(wire(a, sent.b), 4, instances.a);
  };
  const drop = () => {
    generation++;
    a.detach();
    b.detach();
  };
  connect();
  return { a, b, handlers, sent, connect, drop, instances };
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kinds = (frames: CellFrame[]) => frames.map((f) => f.kind.case);

describe("CellEndpoint (in memory, through the wire encoding)", () => {
  it("answers requests in both directions by topic", async () => {
    const { a, b, handlers } = pair();
    handlers.b.set("echo", async ({ payload, peer }) =>
      text(`${peer}:${str(await payload.bytes())}`),
    );
    handlers.a.set("echo", async ({ payload }) => text(`a got ${str(await payload.bytes())}`));
    expect(str(await (await a.request("echo", text("hi"))).bytes())).toBe("a:hi");
    expect(str(await (await b.request("echo", text("yo"))).bytes())).toBe("a got yo");
  });

  it("gives a thrown error's code and message to the requester, and UNIMPLEMENTED for no handler", async () => {
    const { a, handlers } = pair();
    handlers.b.set("boom", () => {
      throw new FedbridgeError(Code.PermissionDenied, "not for you");
    });
    handlers.b.set("plain", () => {
      throw new Error("plain failure");
    });
    await expect(a.request("boom", text(""))).rejects.toMatchObject({
      code: Code.PermissionDenied,
      message: "not for you",
    });
    await expect(a.request("plain", text(""))).rejects.toMatchObject({
      code: Code.Unknown,
      message: "plain failure",
    });
    const missing = await a.request("nope", text("")).catch((e: FedbridgeError) => e);
    expect(missing).toBeInstanceOf(FedbridgeError);
    expect(missing).toMatchObject({ code: Code.Unimplemented });
    expect((missing as Error).message).toContain('no handler for topic "nope"');
  });

  it("fails a request past its deadline with DEADLINE_EXCEEDED and cancels the handler", async () => {
    const { a, handlers } = pair();
    let handlerSignal: AbortSignal | undefined;
    handlers.b.set("slow", async ({ signal }) => {
      handlerSignal = signal;
      await sleep(500);
      return text("late");
    });
    const error = await a.request("slow", text(""), { timeout: 50 }).catch((e) => e);
    expect(error).toBeInstanceOf(FedbridgeError);
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.message).toMatch(/request "slow" to b got no complete reply within 50 ms/);
    // The cancel reaches b a few hops later (sooner than its 500 ms of work, but under load
    // not within any fixed few ms).
    await vi.waitFor(() => expect(handlerSignal?.aborted).toBe(true), { timeout: 10_000 });
  });

  it("resends requests in flight after a drop; a duplicate runs its handler once and gets the same reply", async () => {
    const { a, handlers, sent, connect, drop } = pair();
    let runs = 0;
    let release = () => {};
    let running = () => {};
    const started = new Promise<void>((r) => {
      running = r;
    });
    handlers.b.set("work", async () => {
      runs++;
      running();
      await new Promise<void>((r) => {
        release = r;
      });
      return text(`result ${runs}`);
    });
    const reply = a.request("work", text("x"));
    await started;
    expect(runs).toBe(1);
    drop();
    release(); // the reply goes nowhere: no stream is up
    await sleep(10);
    connect(); // a resends; b answers the duplicate from memory
    expect(str(await (await reply).bytes())).toBe("result 1");
    expect(runs).toBe(1);
    expect(kinds(sent.a).filter((k) => k === "request")).toHaveLength(2);
  });

  it("sends a request made while no stream is up once one comes", async () => {
    const { a, handlers, connect, drop } = pair();
    handlers.b.set("ping", () => text("pong"));
    drop();
    const reply = a.request("ping", text(""));
    await sleep(10);
    connect();
    expect(str(await (await reply).bytes())).toBe("pong");
  });

  it("moves payloads larger than a chunk as chunks, both ways", async () => {
    const { a, handlers, sent } = pair();
    const big = new Uint8Array(100 * KiB).map((_, i) => i % 251);
    handlers.b.set("echo", async ({ payload }) => payload.bytes());
    const reply = await a.request("echo", big);
    expect(reply.size).toBe(big.byteLength);
    expect(Buffer.from(await reply.bytes()).equals(Buffer.from(big))).toBe(true);
    expect(sent.a.filter((f) => f.kind.case === "chunk")).toHaveLength(25);
    expect(sent.b.filter((f) => f.kind.case === "chunk")).toHaveLength(25);
  });

  it("streams a reply made from the request's payload as it arrives (a transform)", async () => {
    const { a, handlers } = pair();
    const big = new Uint8Array(100 * KiB).map((_, i) => i % 253);
    handlers.b.set("invert", ({ payload }) =>
      (async function* () {
        for await (const part of payload.chunks()) yield part.map((x) => 255 - x);
      })(),
    );
    const reply = await (await a.request("invert", big)).bytes();
    expect(reply.byteLength).toBe(big.byteLength);
    expect(reply.every((x, i) => x === 255 - (big[i] as number))).toBe(true);
  });

  it("holds a streamed payload's producer within the credit window of a slow consumer", async () => {
    const { a, handlers } = pair();
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    async function* source() {
      for (let i = 0; i < 40; i++) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield new Uint8Array(4 * KiB).fill(i);
      }
    }
    handlers.b.set("slow-sink", async ({ payload }) => {
      let bytes = 0;
      for await (const part of payload.chunks()) {
        consumed++;
        bytes += part.byteLength;
        await sleep(2);
      }
      return text(String(bytes));
    });
    expect(str(await (await a.request("slow-sink", source())).bytes())).toBe(String(40 * 4 * KiB));
    expect(maxAhead).toBeLessThanOrEqual(4 + 2); // window 4, one in the consumer's hands, one read ahead
  });

  it("resumes a chunked payload after a drop where its receiver was, content intact", async () => {
    const { a, handlers, connect, drop } = pair();
    const big = new Uint8Array(200 * KiB).map((_, i) => (i * 7) % 256);
    let runs = 0;
    handlers.b.set("store", async ({ payload }) => {
      runs++;
      const parts: Uint8Array[] = [];
      let n = 0;
      for await (const part of payload.chunks()) {
        parts.push(part);
        if (++n === 10) {
          drop();
          setTimeout(connect, 20);
        }
      }
      return Buffer.concat(parts);
    });
    const reply = await (await a.request("store", big)).bytes();
    expect(Buffer.from(reply).equals(Buffer.from(big))).toBe(true);
    expect(runs).toBe(1);
  });

  it("streams a reply the requester reads chunk by chunk; leaving early cancels the rest", async () => {
    const { a, handlers } = pair();
    let stoppedAt = -1;
    handlers.b.set("stream", () =>
      (async function* () {
        let i = 0;
        try {
          for (; i < 1000; i++) yield new Uint8Array(KiB).fill(i % 256);
        } finally {
          stoppedAt = i;
        }
      })(),
    );
    const reply = await a.request("stream", text(""));
    expect(reply.size).toBeUndefined();
    let n = 0;
    for await (const part of reply.chunks()) {
      expect(part[0]).toBe(n % 256);
      if (++n === 5) break;
    }
    // The cancel reaches the producer a few hops later; the credit window had stopped it anyway.
    await vi.waitFor(() => expect(stoppedAt).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    expect(stoppedAt).toBeLessThan(20);
  });

  it("passes a streamed source's failure to the receiver with its code", async () => {
    const { a, handlers } = pair();
    handlers.b.set("broken", () =>
      (async function* () {
        yield new Uint8Array(KiB);
        throw new FedbridgeError(Code.DataLoss, "disk read failed");
      })(),
    );
    const reply = await a.request("broken", text(""));
    await expect(reply.bytes()).rejects.toMatchObject({
      code: Code.DataLoss,
      message: "disk read failed",
    });
  });

  it("cancels on its signal, and fails exchanges with a restarted peer as UNAVAILABLE", async () => {
    const { a, handlers, instances, connect, drop } = pair();
    handlers.b.set("hang", () => new Promise<Uint8Array>(() => {}));
    const controller = new AbortController();
    const canceled = a.request("hang", text(""), { signal: controller.signal });
    controller.abort();
    await expect(canceled).rejects.toMatchObject({ code: Code.Canceled });
    const inFlight = a.request("hang", text(""));
    await sleep(10);
    drop();
    instances.b = "b-2";
    connect();
    const error = await inFlight.catch((e) => e);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.message).toMatch(/b restarted while the request was in flight/);
  });

  it("refuses a frame that breaks the protocol with INVALID_ARGUMENT", async () => {
    const { a, b, handlers } = pair();
    let arrived = () => {};
    const started = new Promise<void>((r) => {
      arrived = r;
    });
    handlers.b.set("echo", async ({ payload }) => {
      arrived();
      await sleep(20);
      return payload.bytes();
    });
    expect(() => a.handleFrame(fromBinary(CellFrameSchema, new Uint8Array([0x58, 0x01])))).toThrow(
      /unexpected unknown frame from b/,
    );
    const reply = a.request("echo", new Uint8Array(20 * KiB));
    await started;
    // A chunk far beyond what b expects.
    const bad = fromBinary(
      CellFrameSchema,
      toBinary(CellFrameSchema, {
        $typeName: "fedbridge.v1.CellFrame",
        kind: {
          case: "chunk",
          value: {
            $typeName: "fedbridge.v1.Chunk",
            id: 1n,
            reply: false,
            seq: 1000n,
            data: new Uint8Array(1),
            last: false,
            errorCode: 0,
            errorMessage: "",
          },
        },
      }),
    );
    expect(() => b.handleFrame(bad)).toThrow(/chunk 1000 came before chunk \d+/);
    expect((await (await reply).bytes()).byteLength).toBe(20 * KiB);
  });
});
