/**
 * What the two halves of a cell endpoint (its requests out, its requests in) share: the
 * stream frames go out on right now, if any, and the settings both ends agreed on. A frame
 * sent while no stream is up is dropped; each half knows how to resend what matters.
 */
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";

export interface EndpointSettings {
  /** This end's name, for messages. */
  self: string;
  /** The other end's name, for messages. */
  peer: string;
  /** Largest chunk, and largest payload sent in one frame, in bytes. */
  chunkSize: number;
  /** Chunks of one incoming payload this end buffers at most (announced to the peer). */
  window: number;
  /** Deadline of a request when its caller gives none, in ms. */
  requestTimeoutMs: number;
  /** Replies kept to answer duplicate requests: at most this many... */
  maxRemembered: number;
  /** ...and at most this many bytes of them. */
  maxRememberedBytes: number;
}

export class LinkState {
  #send: ((frame: CellFrame) => void) | undefined;
  /** The peer's window: chunks this end may send beyond those the peer consumed. */
  peerWindow = 1;

  constructor(readonly settings: EndpointSettings) {}

  get up(): boolean {
    return this.#send !== undefined;
  }

  /** The current stream's send function, if a stream is up. */
  get sender(): ((frame: CellFrame) => void) | undefined {
    return this.#send;
  }

  set(send: ((frame: CellFrame) => void) | undefined, peerWindow = this.peerWindow): void {
    this.#send = send;
    this.peerWindow = peerWindow;
  }

  /** Sends on the current stream; dropped when none is up. */
  send(frame: CellFrame): void {
    this.#send?.(frame);
  }
}
