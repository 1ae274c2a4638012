/**
 * The replier's half of a cell endpoint: requests from the peer, their handlers and their
 * replies. Each request id runs its handler once: a duplicate (resent after a reconnect) is
 * answered with the reply already given, or ignored while the handler still runs. Replies are
 * remembered until the requester says it has them (`settled_below`), within a count and byte
 * budget. A handler that throws becomes an error reply, never a crash.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame, Chunk, Credit, Request } from "../../gen/fedbridge/v1/cell_pb.ts";
import { ChunkSender, type Payload, payloadSize } from "./chunk-sender.ts";
import { frames } from "./frames.ts";
import { ChunkReceiver, type IncomingPayload, wholePayload } from "./incoming-payload.ts";
import type { LinkState } from "./link-state.ts";
import { chunkError } from "./outgoing-requests.ts";

/** A request as its handler sees it. */
export interface CellRequest {
  readonly topic: string;
  /** Who asked: a site's name on the server, the server's name on a site. */
  readonly peer: string;
  readonly payload: IncomingPayload;
  /** Aborted when the requester gives up (deadline, cancel) or restarts. */
  readonly signal: AbortSignal;
}

/** Answers requests of one topic with a payload; what it throws reaches the requester. */
export type CellHandler = (request: CellRequest) => Payload | Promise<Payload>;

interface Incoming {
  abort: AbortController;
  payload: ChunkReceiver | undefined;
  /** The reply (or error) once given, for duplicates; undefined while the handler runs. */
  reply: CellFrame | undefined;
  replyBytes: number;
  /** A chunked reply on its way. */
  replySender: ChunkSender | undefined;
  /** The chunked reply arrived: duplicates need no answer. */
  delivered: boolean;
}

export class IncomingRequests {
  readonly #link: LinkState;
  readonly #handlers: ReadonlyMap<string, CellHandler>;
  readonly #requests = new Map<number, Incoming>(); // in arrival order
  #rememberedBytes = 0;

  constructor(link: LinkState, handlers: ReadonlyMap<string, CellHandler>) {
    this.#link = link;
    this.#handlers = handlers;
  }

  /** Requests remembered (running, replying, or kept for duplicates). */
  get size(): number {
    return this.#requests.size;
  }

  onRequest(request: Request): void {
    const id = Number(request.id);
    this.#forgetBelow(Number(request.settledBelow));
    const known = this.#requests.get(id);
    if (known) {
      if (known.reply) this.#link.send(known.reply);
      return; // still running, or its chunked reply resends itself
    }
    const { settings } = this.#link;
    const entry: Incoming = {
      abort: new AbortController(),
      payload: undefined,
      reply: undefined,
      replyBytes: 0,
      replySender: undefined,
      delivered: false,
    };
    if (request.chunked)
      entry.payload = new ChunkReceiver({
        size: request.size > 0n ? Number(request.size) : undefined,
        window: settings.window,
        credit: (consumed) => this.#link.send(frames.credit(id, false, consumed)),
        abandon: () => {},
      });
    this.#requests.set(id, entry);
    const timer =
      request.timeoutMs > 0
        ? setTimeout(
            () =>
              entry.abort.abort(
                new FedbridgeError(Code.DeadlineExceeded, "the requester's deadline passed"),
              ),
            request.timeoutMs,
          )
        : undefined;
    void this.#run(id, request, entry).finally(() => clearTimeout(timer));
  }

  onChunk(chunk: Chunk): void {
    this.#requests
      .get(Number(chunk.id))
      ?.payload?.accept(Number(chunk.seq), chunk.data, chunk.last, chunkError(chunk));
  }

  onCredit(credit: Credit): void {
    this.#requests.get(Number(credit.id))?.replySender?.credit(Number(credit.consumed));
  }

  /** The requester gave up on `id`: stop its handler and its reply. */
  onCancel(id: number, reason: string): void {
    const entry = this.#requests.get(id);
    if (!entry || entry.reply || entry.delivered) return;
    const error = new FedbridgeError(
      Code.Canceled,
      `canceled by ${this.#link.settings.peer}: ${reason}`,
    );
    entry.abort.abort(error);
    entry.payload?.fail(error);
    entry.replySender?.stop();
    entry.replySender = undefined;
    this.#remember(entry, frames.errorReply(id, error));
  }

  /** A new stream is up: re-announce payload credits, resume chunked replies. */
  resume(): void {
    const send = this.#link.sender;
    if (!send) return;
    for (const entry of this.#requests.values()) {
      entry.payload?.resendCredit();
      entry.replySender?.attach(send, this.#link.peerWindow);
    }
  }

  pause(): void {
    for (const entry of this.#requests.values()) entry.replySender?.detach();
  }

  /** Forgets every request (the peer restarted, or this end is closing): handlers are aborted. */
  dropAll(error: FedbridgeError): void {
    for (const entry of this.#requests.values()) {
      entry.abort.abort(error);
      entry.payload?.fail(error);
      entry.replySender?.stop();
    }
    this.#requests.clear();
    this.#rememberedBytes = 0;
  }

  async #run(id: number, request: Request, entry: Incoming): Promise<void> {
    const { settings } = this.#link;
    let reply: CellFrame;
    try {
      const handler = this.#handlers.get(request.topic);
      if (!handler)
        throw new FedbridgeError(
          Code.Unimplemented,
          `${settings.self} has no handler for topic "${request.topic}"`,
        );
      const result = await handler({
        topic: request.topic,
        peer: settings.peer,
        payload: entry.payload ?? wholePayload(request.payload),
        signal: entry.abort.signal,
      });
      if (this.#requests.get(id) !== entry || entry.reply) return; // canceled or dropped meanwhile
      if (result instanceof Uint8Array && result.byteLength <= settings.chunkSize) {
        reply = frames.reply(id, result);
      } else {
        this.#replyInChunks(id, entry, result);
        return;
      }
    } catch (reason) {
      if (this.#requests.get(id) !== entry || entry.reply) return;
      reply = frames.errorReply(id, FedbridgeError.from(reason, Code.Unknown));
    } finally {
      // A streamed reply may still be reading the payload; it releases it when it is done.
      if (!entry.replySender) releasePayload(entry);
    }
    this.#remember(entry, reply);
    this.#link.send(reply);
  }

  #replyInChunks(id: number, entry: Incoming, result: Payload): void {
    entry.replySender = new ChunkSender({
      id,
      reply: true,
      header: frames.reply(id, new Uint8Array(0), true, payloadSize(result)),
      source: result,
      chunkSize: this.#link.settings.chunkSize,
      onDone: () => {
        entry.replySender = undefined;
        entry.delivered = true;
        releasePayload(entry);
      },
      onSourceError: () => {},
    });
    const send = this.#link.sender;
    if (send) entry.replySender.attach(send, this.#link.peerWindow);
  }

  #remember(entry: Incoming, reply: CellFrame): void {
    entry.reply = reply;
    entry.replyBytes = reply.kind.case === "reply" ? reply.kind.value.payload.byteLength : 0;
    this.#rememberedBytes += entry.replyBytes;
    const { maxRemembered, maxRememberedBytes } = this.#link.settings;
    for (const [id, old] of this.#requests) {
      if (this.#requests.size <= maxRemembered && this.#rememberedBytes <= maxRememberedBytes)
        break;
      if (old.reply || old.delivered) this.#forget(id, old);
    }
  }

  /** The requester has the replies of every id below `settledBelow`. */
  #forgetBelow(settledBelow: number): void {
    for (const [id, entry] of this.#requests) {
      if (id >= settledBelow) break;
      if (entry.reply || entry.delivered) this.#forget(id, entry);
    }
  }

  #forget(id: number, entry: Incoming): void {
    this.#requests.delete(id);
    this.#rememberedBytes -= entry.replyBytes;
  }
}

/** Drops what is left of a request's payload once its reply no longer needs it. */
function releasePayload(entry: Incoming): void {
  entry.payload?.fail(
    new FedbridgeError(
      Code.Canceled,
      "the handler's reply was complete before all the payload was read",
    ),
  );
}
