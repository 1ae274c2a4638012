/**
 * gRPC's length-prefixed messages on an HTTP/2 stream: a flags byte (compressed or not), a
 * big-endian u32 length, the message. Written by hand wherever models travel (the cells, the
 * Fleet API): a message's bytes go out behind its 5 bytes of prefix as they are, and one that
 * arrives in one piece is read where it lies, where a gRPC library copies every byte on the
 * way out and on the way in.
 */

import { copyBytes } from "../copy-bytes.ts";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { newBuffer } from "../uncounted-bytes.ts";
import { GATHERED_SLACK_BYTES } from "./gathered-slack.ts";

/** A message's prefix: a flags byte and its length. */
export const GRPC_PREFIX_BYTES = 5;

/** The prefix of an uncompressed message of `length` bytes (written into `into` if given). */
export function grpcPrefix(length: number, into = new Uint8Array(GRPC_PREFIX_BYTES)): Uint8Array {
  new DataView(into.buffer, into.byteOffset, GRPC_PREFIX_BYTES).setUint32(1, length);
  return into;
}

/**
 * How many bytes (0–7) into the buffer gathered for it a message starts, given its first bytes
 * as they arrived (`head`, possibly none) and its `length`: a caller that knows what the message
 * carries places it so that its values land aligned.
 */
export type MessageLead = (head: Uint8Array, length: number) => number;

/**
 * Turns the bytes of a stream, as they arrive, into its messages. A message that arrived in one
 * piece is a view of that piece; one split across pieces is gathered into a buffer of its own,
 * GATHERED_SLACK_BYTES longer than the message. A compressed message (fedbridge sends none and
 * asks for none) or one over `maxBytes` is refused before any of its bytes are held.
 */
export class GrpcMessageReader {
  readonly #maxBytes: number;
  readonly #what: string;
  readonly #prefix = new Uint8Array(GRPC_PREFIX_BYTES);
  #prefixFilled = 0;
  #message: Uint8Array | undefined;
  #messageFilled = 0;
  /** The length of the message whose prefix has come and none of its bytes yet. */
  #length: number | undefined;

  readonly #lead: MessageLead | undefined;

  /**
   * `what`: how refusals name a message ("frame", "request message"). `lead`: where in its
   * gathered buffer a message starts, from its first bytes (default: at 0).
   */
  constructor(maxBytes: number, what = "message", lead?: MessageLead) {
    this.#maxBytes = maxBytes;
    this.#what = what;
    this.#lead = lead;
  }

  /** The messages that `piece` completes, in order. */
  *push(piece: Uint8Array): Generator<Uint8Array> {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.#message === undefined && this.#prefixFilled === 0 && this.#length === undefined) {
        const left = piece.byteLength - at;
        if (left >= GRPC_PREFIX_BYTES) {
          const length = this.#checkPrefix(piece.subarray(at, at + GRPC_PREFIX_BYTES));
          if (left >= GRPC_PREFIX_BYTES + length) {
            yield piece.subarray(at + GRPC_PREFIX_BYTES, at + GRPC_PREFIX_BYTES + length);
            at += GRPC_PREFIX_BYTES + length;
            continue;
          }
        }
      }
      if (this.#message === undefined && this.#length === undefined) {
        const n = Math.min(GRPC_PREFIX_BYTES - this.#prefixFilled, piece.byteLength - at);
        this.#prefix.set(piece.subarray(at, at + n), this.#prefixFilled);
        this.#prefixFilled += n;
        at += n;
        if (this.#prefixFilled < GRPC_PREFIX_BYTES) return;
        this.#prefixFilled = 0;
        this.#length = this.#checkPrefix(this.#prefix);
        // A prefix sent apart (as servers do): its message's first bytes tell where it goes.
        if (at === piece.byteLength && this.#length > 0 && this.#lead !== undefined) return;
      }
      if (this.#message === undefined) {
        const length = this.#length as number;
        this.#length = undefined;
        const lead = this.#lead?.(piece.subarray(at, at + length), length) ?? 0;
        this.#message = newBuffer(lead + length + GATHERED_SLACK_BYTES).subarray(
          lead,
          lead + length,
        );
        this.#messageFilled = 0;
      }
      const message = this.#message;
      const n = Math.min(message.byteLength - this.#messageFilled, piece.byteLength - at);
      copyBytes(message, piece.subarray(at, at + n), this.#messageFilled);
      this.#messageFilled += n;
      at += n;
      if (this.#messageFilled === message.byteLength) {
        this.#message = undefined;
        yield message;
      }
    }
  }

  /** Whether the stream may end here: not inside a message. */
  get atBoundary(): boolean {
    return this.#message === undefined && this.#prefixFilled === 0 && this.#length === undefined;
  }

  #checkPrefix(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, GRPC_PREFIX_BYTES);
    if (view.getUint8(0) !== 0)
      throw new FedbridgeError(Code.InvalidArgument, `compressed ${this.#what}s are not accepted`);
    const length = view.getUint32(1);
    if (length > this.#maxBytes)
      throw new FedbridgeError(
        Code.ResourceExhausted,
        `a ${this.#what} of ${length} bytes is over the limit of ${this.#maxBytes}`,
      );
    return length;
  }
}
