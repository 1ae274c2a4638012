import { type ConnectOpts, Socket, type SocketConstructorOpts } from "node:net";
import type { Duplex } from "node:stream";
import { copyBytes } from "../../core/copy-bytes.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { gatherBytes } from "../../core/gather-bytes.ts";
import { newBuffer } from "../../core/uncounted-bytes.ts";

/** What a frame carries: a payload's bytes, its end, or its failure (u32 code, then message). */
const DATA = 0;
const END = 1;
const FAIL = 2;
/** u32 id | u32 kind | u32 length, little-endian. */
const HEADER = 12;
/** The most bytes one frame carries: a larger piece goes out in several. */
const MOST_PER_FRAME = 2 ** 30;
/** Bytes held for payloads not yet read before the socket stops reading. */
const HIGH_WATER = 8 * 2 ** 20;
/** The one buffer a job process reads into. */
const READ_BUFFER = 2 ** 20;

interface Frame {
  id: number;
  kind: number;
  /** Bytes of it still to come. */
  left: number;
  /** A failure's bytes so far. */
  failure: Uint8Array[];
}

interface Incoming {
  pieces: Uint8Array[];
  /** Its last frame (an end or a failure) has come. */
  ended: boolean;
  /** Why it failed: its sender's failure, a wrong length, or the channel closed. */
  error: FedbridgeError | undefined;
  /** Nobody will read it: what comes is dropped. */
  dropped: boolean;
  wake: (() => void) | undefined;
  /** Where the payload is copied as it arrives, when its size is known ({@link receiveWhole}). */
  whole: { bytes: Uint8Array; filled: number } | undefined;
}

/**
 * Large payloads between a parent and its job process, over a socket pair beside the IPC
 * channel: IPC would serialize and copy them, and files would cost a page-cache write and read
 * of each (most of a site's kernel time in `bench runtime-memory`). A payload goes under an id
 * the two sides agreed on over IPC, as frames (`u32 id | u32 kind | u32 length | bytes`): its
 * pieces, then an end, or a failure if its source failed. Payloads are sent one after the
 * other; a receiver holds at most a few MiB that nobody has read before the socket waits.
 *
 * Fresh memory is what costs here (on these virtual machines a page touched the first time
 * costs a fault to the host): the job process's end reads into one buffer it uses again, and
 * copies a task straight into the buffer that holds it whole.
 */
export class DataChannel {
  readonly #socket: Duplex;
  /** Whether what is read lies in a buffer used again (to be copied before it is kept). */
  readonly #borrowed: boolean;
  readonly #incoming = new Map<number, Incoming>();
  #sending: Promise<void> = Promise.resolve();
  #held = 0;
  #closed: FedbridgeError | undefined;
  #wakeWriter: (() => void) | undefined;
  // The frame being read: its header so far, then what is left of its bytes.
  readonly #head = Buffer.alloc(HEADER);
  #headBytes = 0;
  #frame: Frame | undefined;

  /**
   * A channel over `socket`: the parent's end is the child's stdio socket as it is; `borrowed`
   * (see {@link onDescriptor}) means the socket reads into one buffer it uses again.
   */
  constructor(socket: Duplex, borrowed = false) {
    this.#socket = socket;
    this.#borrowed = borrowed;
    if (!borrowed) socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("drain", () => this.#wakeWriterUp());
    socket.on("error", () => {}); // "close" follows, and says it
    socket.on("close", () =>
      this.#close(new FedbridgeError(Code.Unavailable, "the job process ended")),
    );
  }

  /** The job process's end, on the descriptor its parent opened for it. */
  static onDescriptor(fd: number): DataChannel {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
    // Node takes `onread` in the constructor too, though its types list it for connect only.
    const options: SocketConstructorOpts & ConnectOpts = {
      fd,
      onread: {
        buffer,
        callback: (read) => {
          channel.#read(buffer.subarray(0, read));
          return true;
        },
      },
    };
    const channel: DataChannel = new DataChannel(new Socket(options).unref(), true);
    return channel;
  }

  /**
   * Sends `source` under `id`, after the payloads sent before it. A source that throws is
   * sent as a failure with its error (and the promise rejects with it); the pieces must not
   * change until the promise settles.
   */
  send(id: number, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const sent = this.#sending.then(() => this.#write(id, source));
    this.#sending = sent.catch(() => {});
    return sent;
  }

  /**
   * The payload under `id`, piece by piece as it arrives. Ask for it before it may arrive, or
   * as soon as it may: until then its pieces are held here. Ending the iteration early, or
   * calling `return()` before it starts, drops the rest.
   */
  receive(id: number): AsyncIterableIterator<Uint8Array> {
    const incoming = this.#entry(id);
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.#drop(id, incoming);
    };
    const over = { done: true, value: undefined } as const;
    return {
      next: async () => {
        for (;;) {
          if (finished) return over;
          const piece = incoming.pieces.shift();
          if (piece !== undefined) {
            this.#release(piece.byteLength);
            return { done: false, value: piece };
          }
          if (incoming.error) {
            finish();
            throw incoming.error;
          }
          if (incoming.ended) {
            finish();
            return over;
          }
          await new Promise<void>((resolve) => (incoming.wake = resolve));
        }
      },
      return: async () => {
        finish();
        return over;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * The payload under `id` in one buffer. With its size known each piece is copied there as it
   * is read, and a payload of another length fails.
   */
  async receiveWhole(id: number, size?: number): Promise<Uint8Array> {
    if (size === undefined) return gatherBytes(this.receive(id));
    const incoming = this.#entry(id);
    const whole = { bytes: newBuffer(size), filled: 0 };
    incoming.whole = whole;
    for (const piece of incoming.pieces.splice(0)) {
      this.#release(piece.byteLength);
      this.#copyInto(incoming, piece);
    }
    try {
      while (!incoming.ended && !incoming.error)
        await new Promise<void>((resolve) => (incoming.wake = resolve));
      if (incoming.error) throw incoming.error;
      if (whole.filled !== size)
        throw new FedbridgeError(
          Code.DataLoss,
          `payload of ${whole.filled} bytes, size said ${size}`,
        );
      return whole.bytes;
    } finally {
      this.#drop(id, incoming);
    }
  }

  /** Forgets a payload: what has come of it, and, unless it is over, what is still to come. */
  #drop(id: number, incoming: Incoming): void {
    for (const piece of incoming.pieces.splice(0)) this.#release(piece.byteLength);
    if (incoming.ended || this.#closed) this.#incoming.delete(id);
    else incoming.dropped = true;
  }

  async #write(id: number, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>) {
    try {
      for await (const piece of source)
        for (let at = 0; at < piece.byteLength; at += MOST_PER_FRAME)
          await this.#writeFrame(id, DATA, piece.subarray(at, at + MOST_PER_FRAME));
    } catch (error) {
      const failure = FedbridgeError.from(error);
      const text = Buffer.from(`    ${failure.message}`);
      text.writeUInt32LE(failure.code, 0);
      await this.#writeFrame(id, FAIL, text);
      throw failure;
    }
    await this.#writeFrame(id, END, new Uint8Array());
  }

  async #writeFrame(id: number, kind: number, bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw this.#closed;
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32LE(id, 0);
    header.writeUInt32LE(kind, 4);
    header.writeUInt32LE(bytes.byteLength, 8);
    this.#socket.cork();
    this.#socket.write(header);
    const ready = bytes.byteLength === 0 || this.#socket.write(bytes);
    this.#socket.uncork();
    if (ready) return;
    await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
    if (this.#closed) throw this.#closed;
  }

  #read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.byteLength) {
      const frame = this.#frame;
      if (frame === undefined) {
        const taken = Math.min(HEADER - this.#headBytes, chunk.byteLength - at);
        chunk.copy(this.#head, this.#headBytes, at, at + taken);
        this.#headBytes += taken;
        at += taken;
        if (this.#headBytes === HEADER) this.#startFrame();
        continue;
      }
      const piece = chunk.subarray(at, at + frame.left);
      at += piece.byteLength;
      frame.left -= piece.byteLength;
      if (frame.kind === DATA) this.#deliver(frame.id, piece);
      else frame.failure.push(piece);
      if (frame.left === 0) this.#endFrame(frame);
    }
  }

  #startFrame(): void {
    this.#headBytes = 0;
    const id = this.#head.readUInt32LE(0);
    const kind = this.#head.readUInt32LE(4);
    const length = this.#head.readUInt32LE(8);
    if (kind > FAIL) {
      // Only our own two processes write here: a bad frame is a bug, and nothing after it
      // can be trusted.
      this.#socket.destroy();
      this.#close(new FedbridgeError(Code.Internal, `data channel: frame of unknown kind ${kind}`));
      return;
    }
    const frame: Frame = { id, kind, left: length, failure: [] };
    this.#frame = frame;
    if (length === 0) this.#endFrame(frame);
  }

  #endFrame(frame: Frame): void {
    this.#frame = undefined;
    if (frame.kind === DATA) return;
    const incoming = this.#entry(frame.id);
    incoming.ended = true;
    if (frame.kind === FAIL) incoming.error ??= failureOf(Buffer.concat(frame.failure));
    if (incoming.dropped) this.#incoming.delete(frame.id);
    this.#wake(incoming);
  }

  #deliver(id: number, piece: Uint8Array): void {
    const incoming = this.#entry(id);
    if (incoming.dropped || incoming.error || piece.byteLength === 0) return;
    if (incoming.whole) {
      this.#copyInto(incoming, piece);
      return;
    }
    incoming.pieces.push(this.#borrowed ? Buffer.from(piece) : piece);
    this.#held += piece.byteLength;
    if (this.#held > HIGH_WATER) this.#socket.pause();
    this.#wake(incoming);
  }

  #copyInto(incoming: Incoming, piece: Uint8Array): void {
    const whole = incoming.whole as NonNullable<Incoming["whole"]>;
    if (whole.filled + piece.byteLength > whole.bytes.byteLength) {
      incoming.error = new FedbridgeError(
        Code.DataLoss,
        `payload longer than its size ${whole.bytes.byteLength}`,
      );
      incoming.dropped = true;
      this.#wake(incoming);
      return;
    }
    copyBytes(whole.bytes, piece, whole.filled);
    whole.filled += piece.byteLength;
  }

  #release(bytes: number): void {
    this.#held -= bytes;
    if (this.#held <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
  }

  #entry(id: number): Incoming {
    let incoming = this.#incoming.get(id);
    if (incoming === undefined) {
      // Once the channel is closed nothing more comes: a payload asked for now has failed.
      const error = this.#closed;
      incoming = {
        pieces: [],
        ended: false,
        error,
        dropped: false,
        wake: undefined,
        whole: undefined,
      };
      this.#incoming.set(id, incoming);
    }
    return incoming;
  }

  #wake(incoming: Incoming): void {
    const wake = incoming.wake;
    incoming.wake = undefined;
    wake?.();
  }

  #wakeWriterUp(): void {
    const wake = this.#wakeWriter;
    this.#wakeWriter = undefined;
    wake?.();
  }

  #close(error: FedbridgeError): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const [id, incoming] of this.#incoming) {
      if (!incoming.ended && !incoming.error) incoming.error = error;
      if (incoming.dropped) this.#incoming.delete(id);
      this.#wake(incoming);
    }
    this.#wakeWriterUp();
  }
}

function failureOf(bytes: Buffer): FedbridgeError {
  const code = bytes.byteLength >= 4 ? bytes.readUInt32LE(0) : 0;
  return new FedbridgeError(
    code in Code ? (code as Code) : Code.Internal,
    bytes.subarray(4).toString() || "data channel: a failure without a message",
  );
}
