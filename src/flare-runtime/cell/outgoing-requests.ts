/**
 * The requester's half of a cell endpoint: requests this end sent and the replies it waits
 * for. A request is resent on every new stream until its reply starts arriving, so a dropped
 * connection loses nothing; the peer's duplicate cache makes the resend harmless. Each
 * request has a deadline covering the whole exchange, its reply's chunks included.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Chunk, Credit, Reply } from "../../gen/fedbridge/v1/cell_pb.ts";
import { ChunkSender, type Payload, payloadSize } from "./chunk-sender.ts";
import { frames } from "./frames.ts";
import { ChunkReceiver, type IncomingPayload, wholePayload } from "./incoming-payload.ts";
import type { LinkState } from "./link-state.ts";

/** How one request behaves. */
export interface RequestOptions {
  /**
   * How long the whole exchange may take, reply chunks included, in ms; past it the request
   * fails with DEADLINE_EXCEEDED. Default: the cell's `requestTimeoutMs`. `Infinity`: none.
   */
  timeout?: number;
  /** Aborting it cancels the request (CANCELED). */
  signal?: AbortSignal;
}

interface Outgoing {
  id: number;
  topic: string;
  payload: Payload;
  timeoutMs: number;
  sender: ChunkSender | undefined;
  replyStarted: boolean;
  receiver: ChunkReceiver | undefined;
  resolve: (payload: IncomingPayload) => void;
  reject: (error: FedbridgeError) => void;
  cleanup: () => void;
}

export class OutgoingRequests {
  readonly #link: LinkState;
  readonly #pending = new Map<number, Outgoing>(); // in id order
  #nextId = 1;
  #closed: FedbridgeError | undefined;

  constructor(link: LinkState) {
    this.#link = link;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Sends a request; resolves with the reply's payload once it starts to arrive. */
  send(topic: string, payload: Payload, options: RequestOptions = {}): Promise<IncomingPayload> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { settings } = this.#link;
    const id = this.#nextId++;
    const timeoutMs = options.timeout ?? settings.requestTimeoutMs;
    return new Promise<IncomingPayload>((resolve, reject) => {
      const onAbort = () =>
        this.#fail(id, new FedbridgeError(Code.Canceled, `request "${topic}" was canceled`), true);
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(
            () =>
              this.#fail(
                id,
                new FedbridgeError(
                  Code.DeadlineExceeded,
                  `request "${topic}" to ${settings.peer} got no complete reply within ${timeoutMs} ms`,
                ),
                true,
              ),
            timeoutMs,
          )
        : undefined;
      options.signal?.addEventListener("abort", onAbort);
      const o: Outgoing = {
        id,
        topic,
        payload,
        timeoutMs,
        sender: undefined,
        replyStarted: false,
        receiver: undefined,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
        },
      };
      this.#pending.set(id, o);
      if (!(payload instanceof Uint8Array) || payload.byteLength > settings.chunkSize) {
        o.sender = new ChunkSender({
          id,
          reply: false,
          header: frames.request({
            id,
            topic,
            chunked: true,
            size: payloadSize(payload),
            timeoutMs,
            settledBelow: this.#settledBelow(),
          }),
          source: payload,
          chunkSize: settings.chunkSize,
          onDone: () => {
            if (o.sender) o.sender = undefined;
          },
          onSourceError: (error) => this.#fail(id, error, true),
        });
      }
      if (options.signal?.aborted) onAbort();
      else this.#transmit(o);
    });
  }

  /** A new stream is up: resend what has no reply yet, re-announce reply credits. */
  resume(): void {
    for (const o of this.#pending.values()) {
      if (!o.replyStarted) this.#transmit(o);
      else o.receiver?.resendCredit();
    }
  }

  /** The stream is down. */
  pause(): void {
    for (const o of this.#pending.values()) o.sender?.detach();
  }

  /** Fails every request (the peer restarted, or this end is closing). */
  failAll(error: FedbridgeError, closing = false): void {
    if (closing) this.#closed = error;
    for (const id of [...this.#pending.keys()]) this.#fail(id, error, false);
  }

  onReply(reply: Reply): void {
    const id = Number(reply.id);
    const o = this.#pending.get(id);
    if (!o) {
      if (reply.chunked) this.#link.send(frames.cancel(id, "no request waits for this reply"));
      return;
    }
    if (o.replyStarted) return; // the same reply again, after a reconnect
    o.replyStarted = true;
    // A chunked reply may be made from the request's payload as it streams: keep sending it
    // until the exchange is over (#settle stops it).
    if (reply.errorCode !== 0) {
      this.#fail(id, new FedbridgeError(reply.errorCode as Code, reply.errorMessage), false);
    } else if (!reply.chunked) {
      this.#settle(id);
      o.resolve(wholePayload(reply.payload));
    } else {
      o.receiver = new ChunkReceiver({
        size: reply.size > 0n ? Number(reply.size) : undefined,
        window: this.#link.settings.window,
        credit: (consumed) => this.#link.send(frames.credit(id, true, consumed)),
        abandon: () => this.#link.send(frames.cancel(id, "the reply is no longer wanted")),
        settled: () => this.#settle(id),
      });
      o.resolve(o.receiver);
    }
  }

  onChunk(chunk: Chunk): void {
    const id = Number(chunk.id);
    const receiver = this.#pending.get(id)?.receiver;
    if (!receiver) {
      this.#link.send(frames.cancel(id, "no request waits for these chunks"));
      return;
    }
    receiver.accept(Number(chunk.seq), chunk.data, chunk.last, chunkError(chunk));
  }

  onCredit(credit: Credit): void {
    this.#pending.get(Number(credit.id))?.sender?.credit(Number(credit.consumed));
  }

  #transmit(o: Outgoing): void {
    const send = this.#link.sender;
    if (!send) return;
    if (o.sender) o.sender.attach(send, this.#link.peerWindow);
    else
      send(
        frames.request({
          id: o.id,
          topic: o.topic,
          payload: o.payload as Uint8Array,
          timeoutMs: o.timeoutMs,
          settledBelow: this.#settledBelow(),
        }),
      );
  }

  /** Every request below this id has its reply (or was given up): the peer may forget it. */
  #settledBelow(): number {
    for (const o of this.#pending.values()) if (!o.replyStarted) return o.id;
    return this.#nextId;
  }

  #settle(id: number): void {
    const o = this.#pending.get(id);
    if (!o) return;
    this.#pending.delete(id);
    o.sender?.stop();
    o.cleanup();
  }

  #fail(id: number, error: FedbridgeError, tellPeer: boolean): void {
    const o = this.#pending.get(id);
    if (!o) return;
    this.#settle(id);
    if (tellPeer) this.#link.send(frames.cancel(id, error.message));
    if (o.receiver) o.receiver.fail(error);
    else o.reject(error);
  }
}

/** The error a final chunk carries, if its sender's source failed. */
export function chunkError(chunk: Chunk): FedbridgeError | undefined {
  return chunk.errorCode !== 0
    ? new FedbridgeError(chunk.errorCode as Code, chunk.errorMessage)
    : undefined;
}
