/**
 * A payload as its receiver sees it: whole, or as chunks still arriving. A chunked payload is
 * held back by credit: its sender may run at most `window` chunks ahead of what the consumer
 * has taken, so a 1 GB model read with `chunks()` never sits in memory at once.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { gatherBytes } from "../../core/gather-bytes.ts";

/** A payload received by a cell: a request's (in a handler) or a reply's. */
export interface IncomingPayload {
  /** Total bytes, when the sender knew them up front (always for a Uint8Array payload). */
  readonly size: number | undefined;
  /** The whole payload in one buffer. Once per payload, and not after `chunks()`. */
  bytes(): Promise<Uint8Array>;
  /**
   * The payload piece by piece as it arrives; the sender waits while the consumer does.
   * Leaving the loop early cancels the rest. Once per payload, and not after `bytes()`.
   */
  chunks(): AsyncIterable<Uint8Array>;
}

/** A payload that arrived in one frame. */
export function wholePayload(data: Uint8Array): IncomingPayload {
  let taken = false;
  const take = () => {
    if (taken) throw alreadyRead();
    taken = true;
  };
  return {
    size: data.byteLength,
    bytes: async () => {
      take();
      return data;
    },
    chunks: () => {
      take();
      return (async function* () {
        if (data.byteLength > 0) yield data;
      })();
    },
  };
}

export interface ChunkReceiverOptions {
  size: number | undefined;
  /** Chunks the sender may have beyond those consumed (what this end announced). */
  window: number;
  /** Tells the sender how many chunks have been consumed. */
  credit: (consumed: number) => void;
  /** Called once when the consumer stops reading before the end (the rest is unwanted). */
  abandon: () => void;
  /** Called once when the payload is over: all consumed, failed, or abandoned. */
  settled?: () => void;
}

/** The receiving end of one chunked payload. */
export class ChunkReceiver implements IncomingPayload {
  readonly size: number | undefined;
  readonly #options: ChunkReceiverOptions;
  #buffer: Uint8Array[] = [];
  #next = 0; // the seq expected next
  #consumed = 0;
  #lastReceived = false;
  #endError: FedbridgeError | undefined;
  #wake: (() => void) | undefined;
  #taken = false;
  #closed = false;
  #settled = false;

  constructor(options: ChunkReceiverOptions) {
    this.size = options.size;
    this.#options = options;
  }

  /** Whether every chunk has reached the consumer, or the payload failed or was dropped. */
  get finished(): boolean {
    return this.#closed || (this.#lastReceived && this.#buffer.length === 0);
  }

  /**
   * Takes a chunk from the wire. Chunks already received (resent after a reconnect) are
   * dropped; a gap, or more chunks than the window allows, is a protocol error (thrown).
   */
  accept(seq: number, data: Uint8Array, last: boolean, error?: FedbridgeError): void {
    if (this.#closed || this.#lastReceived || seq < this.#next) return;
    if (seq > this.#next)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `chunk ${seq} came before chunk ${this.#next}`,
      );
    if (seq >= this.#consumed + this.#options.window)
      throw new FedbridgeError(
        Code.InvalidArgument,
        `chunk ${seq} overruns the credit window (${this.#consumed} consumed, window ${this.#options.window})`,
      );
    this.#next++;
    if (data.byteLength > 0 || last) this.#buffer.push(data);
    if (last) {
      this.#lastReceived = true;
      this.#endError = error;
    }
    this.#wakeUp();
  }

  /** Ends the payload with `error` for its consumer (request cancelled, peer restarted). */
  fail(error: FedbridgeError): void {
    if (this.finished) return;
    this.#endError = error;
    this.#lastReceived = true;
    this.#buffer = [];
    this.#wakeUp();
    if (!this.#taken) this.#settle();
  }

  /** Tells the sender again where the consumer is (after a reconnect). */
  resendCredit(): void {
    if (!this.finished) this.#options.credit(this.#consumed);
  }

  async bytes(): Promise<Uint8Array> {
    return gatherBytes(this.chunks(), this.size);
  }

  chunks(): AsyncIterable<Uint8Array> {
    if (this.#taken) throw alreadyRead();
    this.#taken = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<Uint8Array> {
    let complete = false;
    try {
      for (;;) {
        const data = this.#buffer.shift();
        if (data !== undefined) {
          this.#consumed++;
          this.#options.credit(this.#consumed);
          if (data.byteLength > 0) yield data;
          continue;
        }
        if (this.#lastReceived) {
          complete = true;
          if (this.#endError) throw this.#endError;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      if (!complete && !this.#closed) {
        this.#closed = true;
        this.#buffer = [];
        this.#options.abandon();
      }
      this.#closed = true;
      this.#settle();
    }
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#options.settled?.();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function alreadyRead(): FedbridgeError {
  return new FedbridgeError(Code.FailedPrecondition, "this payload has already been read");
}
