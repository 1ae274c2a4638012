/**
 * One end of a cell's conversation with one peer: what the server keeps per site, and what a
 * site keeps for the server. It outlives the streams under it: when a stream drops, requests
 * in flight wait; when the next stream attaches, they are resent, chunked payloads resume
 * where their receiver was, and the peer's duplicates are answered from memory.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import type { Payload } from "./chunk-sender.ts";
import type { IncomingPayload } from "./incoming-payload.ts";
import { type CellHandler, IncomingRequests } from "./incoming-requests.ts";
import { type EndpointSettings, LinkState } from "./link-state.ts";
import { OutgoingRequests, type RequestOptions } from "./outgoing-requests.ts";

export class CellEndpoint {
  readonly #link: LinkState;
  readonly #outgoing: OutgoingRequests;
  readonly #incoming: IncomingRequests;
  #peerInstance: string | undefined;

  constructor(settings: EndpointSettings, handlers: ReadonlyMap<string, CellHandler>) {
    this.#link = new LinkState(settings);
    this.#outgoing = new OutgoingRequests(this.#link);
    this.#incoming = new IncomingRequests(this.#link, handlers);
  }

  get settings(): EndpointSettings {
    return this.#link.settings;
  }

  /** Requests sent and not yet answered, and requests received and still remembered. */
  get stats(): { outgoing: number; incoming: number } {
    return { outgoing: this.#outgoing.size, incoming: this.#incoming.size };
  }

  /**
   * A stream to the peer is up. `peerInstance` names the peer's process: when it differs
   * from the last one, the peer restarted, and the exchanges with its old process fail
   * (UNAVAILABLE: the request may or may not have run) instead of being resent to a process
   * that never heard of them.
   */
  attach(send: (frame: CellFrame) => void, peerWindow: number, peerInstance: string): void {
    if (this.#peerInstance !== undefined && this.#peerInstance !== peerInstance) {
      const error = new FedbridgeError(
        Code.Unavailable,
        `${this.settings.peer} restarted while the request was in flight; it may or may not have run`,
      );
      this.#outgoing.failAll(error);
      this.#incoming.dropAll(error);
    }
    this.#peerInstance = peerInstance;
    this.#link.set(send, peerWindow);
    this.#incoming.resume();
    this.#outgoing.resume();
  }

  /** The stream is gone; what is in flight waits for the next one. */
  detach(): void {
    this.#link.set(undefined);
    this.#outgoing.pause();
    this.#incoming.pause();
  }

  /** Fails everything in flight and refuses new requests. */
  close(error: FedbridgeError): void {
    this.detach();
    this.#outgoing.failAll(error, true);
    this.#incoming.dropAll(error);
  }

  /** Sends a request; resolves with the reply's payload once it starts to arrive. */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<IncomingPayload> {
    return this.#outgoing.send(topic, payload, options);
  }

  /**
   * Takes one frame of the exchange from the peer. Throws a FedbridgeError
   * (INVALID_ARGUMENT) for a frame that breaks the protocol; the caller closes that stream.
   */
  handleFrame(frame: CellFrame): void {
    const { kind } = frame;
    switch (kind.case) {
      case "request":
        this.#incoming.onRequest(kind.value);
        return;
      case "reply":
        this.#outgoing.onReply(kind.value);
        return;
      case "chunk":
        if (kind.value.reply) this.#outgoing.onChunk(kind.value);
        else this.#incoming.onChunk(kind.value);
        return;
      case "credit":
        if (kind.value.reply) this.#incoming.onCredit(kind.value);
        else this.#outgoing.onCredit(kind.value);
        return;
      case "cancel":
        this.#incoming.onCancel(Number(kind.value.id), kind.value.reason);
        return;
      default:
        throw new FedbridgeError(
          Code.InvalidArgument,
          `unexpected ${kind.case ?? "unknown"} frame from ${this.settings.peer}`,
        );
    }
  }
}
