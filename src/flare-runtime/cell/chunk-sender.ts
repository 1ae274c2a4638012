/**
 * The sending end of one chunked payload. It sends a chunk only while the receiver's credit
 * allows (fewer than `window` chunks beyond those consumed), and keeps the chunks not yet
 * consumed, so after a reconnect it announces the payload again and resends from the first
 * chunk the receiver has not consumed. Memory: at most `window` chunks, whatever the size.
 */

import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import { frames } from "./frames.ts";

/**
 * A payload to send: bytes (chunked above the chunk size) or a stream of pieces (always). A
 * stream may say how many bytes it holds (`size`, see {@link sizedStream}): its receiver then
 * knows before the first piece, and can put them where they will lie.
 */
export type Payload = Uint8Array | (AsyncIterable<Uint8Array> & { readonly size?: number });

/** A stream of `size` bytes in all, saying so up front. */
export function sizedStream(
  size: number,
  pieces: AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> & { readonly size: number } {
  return { size, [Symbol.asyncIterator]: () => pieces[Symbol.asyncIterator]() };
}

/** The bytes a payload holds, if it says (0 for a stream that does not: the wire's "unknown"). */
export function payloadSize(payload: Payload): number {
  return payload instanceof Uint8Array ? payload.byteLength : (payload.size ?? 0);
}

export interface ChunkSenderOptions {
  /** The request's id. */
  id: number;
  /** Whether this is a reply's payload (else a request's). */
  reply: boolean;
  /** The Request or Reply frame that announces the chunks; sent again after a reconnect. */
  header: CellFrame;
  source: Payload;
  /** Largest chunk, in bytes. */
  chunkSize: number;
  /** Every chunk is consumed: the payload has arrived. */
  onDone: () => void;
  /** The source failed: its error went out as the final chunk too. */
  onSourceError: (error: FedbridgeError) => void;
}

interface Piece {
  data: Uint8Array;
  last: boolean;
  error?: FedbridgeError;
}

export class ChunkSender {
  readonly #options: ChunkSenderOptions;
  readonly #notifier = new Notifier();
  #send: ((frame: CellFrame) => void) | undefined;
  #window = 1;
  #consumed = 0; // chunks the receiver has consumed: those below are forgotten
  #next = 0; // next seq to send on the current link
  #held: Piece[] = []; // pieces #consumed .. #consumed + held.length - 1
  #total: number | undefined; // known once the last piece is produced
  #iterator: AsyncIterator<Uint8Array> | undefined;
  #rest: Uint8Array | undefined; // what is left of a source piece larger than a chunk
  #stopped = false;

  constructor(options: ChunkSenderOptions) {
    this.#options = options;
    if (!(options.source instanceof Uint8Array))
      this.#iterator = options.source[Symbol.asyncIterator]();
    void this.#pump();
  }

  /** Starts (or resumes) on a link: the header, then chunks from the first unconsumed one. */
  attach(send: (frame: CellFrame) => void, window: number): void {
    if (this.#stopped) return;
    this.#send = send;
    this.#window = Math.max(1, window);
    this.#next = this.#consumed;
    send(this.#options.header);
    this.#notifier.notify();
  }

  /** The link is gone: wait for the next one. */
  detach(): void {
    this.#send = undefined;
  }

  /** The receiver has consumed `consumed` chunks. */
  credit(consumed: number): void {
    if (consumed <= this.#consumed) return;
    const produced = this.#consumed + this.#held.length;
    const upTo = Math.min(consumed, produced);
    this.#held.splice(0, upTo - this.#consumed);
    this.#consumed = upTo;
    if (this.#next < upTo) this.#next = upTo;
    if (this.#total !== undefined && this.#consumed >= this.#total) {
      this.stop();
      this.#options.onDone();
      return;
    }
    this.#notifier.notify();
  }

  /** Stops sending and releases the source (the peer no longer wants the payload). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#send = undefined;
    this.#held = [];
    this.#notifier.notify();
    void this.#iterator?.return?.().catch(() => {});
  }

  async #pump(): Promise<void> {
    while (!this.#stopped) {
      const send = this.#send;
      const seq = this.#next;
      const allowed =
        send !== undefined &&
        seq < this.#consumed + this.#window &&
        (this.#total === undefined || seq < this.#total);
      if (!allowed) {
        await this.#notifier.wait(2 ** 31 - 1);
        continue;
      }
      const piece = await this.#pieceAt(seq);
      // The link may have changed while the source was read: send only on the current one.
      if (this.#stopped || piece === undefined || this.#send !== send || this.#next !== seq)
        continue;
      this.#next = seq + 1;
      send(
        frames.chunk({
          id: this.#options.id,
          reply: this.#options.reply,
          seq,
          data: piece.data,
          last: piece.last,
          error: piece.error,
        }),
      );
    }
  }

  /** The piece at `seq`: held if produced already, else read from the source. */
  async #pieceAt(seq: number): Promise<Piece | undefined> {
    const index = seq - this.#consumed;
    if (index < 0) return undefined;
    if (index < this.#held.length) return this.#held[index];
    const piece = await this.#produce(seq);
    if (this.#stopped) return undefined;
    this.#held.push(piece);
    if (piece.last) this.#total = seq + 1;
    return piece;
  }

  async #produce(seq: number): Promise<Piece> {
    const { source, chunkSize } = this.#options;
    if (source instanceof Uint8Array) {
      const start = seq * chunkSize;
      const end = Math.min(source.byteLength, start + chunkSize);
      return { data: source.subarray(start, end), last: end >= source.byteLength };
    }
    if (this.#rest === undefined) {
      try {
        const next = await (this.#iterator as AsyncIterator<Uint8Array>).next();
        if (next.done) return { data: new Uint8Array(0), last: true };
        this.#rest = next.value;
      } catch (reason) {
        const error = FedbridgeError.from(reason, Code.Aborted);
        this.#options.onSourceError(error);
        return { data: new Uint8Array(0), last: true, error };
      }
    }
    const rest = this.#rest;
    const data = rest.byteLength > chunkSize ? rest.subarray(0, chunkSize) : rest;
    this.#rest = rest.byteLength > chunkSize ? rest.subarray(chunkSize) : undefined;
    return { data, last: false };
  }
}
