/**
 * One site's stream on the server, from Hello to its end. The stream is only trusted after
 * its peer's certificate passed the project check and its Hello named that same site; then
 * it becomes the site's one link (replacing any older one), carries heartbeats both ways, and
 * hands every other frame to the site's endpoint. A frame that breaks the protocol ends this
 * stream with a clear error; the server and the other sites never notice.
 */
import { Code, codeName, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import type { CellEndpoint } from "./cell-endpoint.ts";
import type { CellLogger } from "./cell-logger.ts";
import type { ResolvedCellOptions } from "./cell-options.ts";
import { FrameQueue } from "./frame-queue.ts";
import { CELL_PROTOCOL_VERSION, frameKind, frames } from "./frames.ts";
import { type Heartbeat, startHeartbeat } from "./heartbeat.ts";

/** What a session needs from its server. */
export interface SessionHost {
  readonly name: string;
  readonly instance: string;
  readonly heartbeatIntervalMs: number;
  readonly options: ResolvedCellOptions;
  readonly logger: CellLogger;
  endpointFor(site: string): CellEndpoint;
  /** Makes `session` the site's current one; returns the one it replaces. */
  takeOver(site: string, session: ServerSession): ServerSession | undefined;
  isCurrent(site: string, session: ServerSession): boolean;
  online(site: string, instance: string, remoteAddress: string | undefined): void;
  heartbeat(site: string): void;
  /** The session ended while current: the site is offline. */
  ended(site: string, session: ServerSession, reason: string): void;
}

export class ServerSession {
  readonly queue = new FrameQueue();
  #site: string | undefined;
  #heartbeat: Heartbeat | undefined;
  #reason = "its stream closed";
  #refused = false;

  constructor(
    readonly host: SessionHost,
    /** The certificate's CN, already checked against the project. */
    readonly commonName: string,
    readonly remoteAddress: string | undefined,
  ) {}

  /** Runs the session: reads `inbound` and yields what goes out, until either side ends. */
  async *run(inbound: AsyncIterable<CellFrame>): AsyncGenerator<CellFrame> {
    this.#read(inbound).then(
      () => this.end(),
      (reason: unknown) => {
        const error = FedbridgeError.from(reason, Code.Unavailable);
        if (!this.queue.ended && !this.#refused)
          this.host.logger({
            level: "warn",
            event: "cell.stream-closed",
            peer: this.commonName,
            code: codeName(error.code),
            message: `stream of ${this.commonName} closed: ${error.message}`,
          });
        this.end(error);
      },
    );
    try {
      yield* this.queue;
    } finally {
      this.#heartbeat?.stop();
      if (this.#site) this.host.ended(this.#site, this, this.#reason);
    }
  }

  /** Ends the stream: normally, or with `error` as the status the site sees. */
  end(error?: FedbridgeError): void {
    if (this.queue.ended) return;
    if (error) this.#reason = error.message;
    this.#heartbeat?.stop();
    this.queue.end(error);
  }

  async #read(inbound: AsyncIterable<CellFrame>): Promise<void> {
    const iterator = inbound[Symbol.asyncIterator]();
    const { host } = this;
    const first = await withDeadline(
      this.#next(iterator),
      host.options.handshakeTimeoutMs,
      `no Hello from ${this.commonName} within ${host.options.handshakeTimeoutMs} ms`,
    );
    if (first.done || this.queue.ended) return;
    const hello = this.#checkHello(first.value);
    const site = hello.site;
    const previous = host.takeOver(site, this);
    this.#site = site;
    if (previous) {
      previous.end(new FedbridgeError(Code.Aborted, `replaced by a newer connection of ${site}`));
      host.logger({
        level: "info",
        event: "cell.replaced",
        site,
        message: `${site} connected again; its older stream is closed`,
      });
    }
    const endpoint = host.endpointFor(site);
    this.queue.push(
      frames.welcome({
        server: host.name,
        instance: host.instance,
        window: host.options.window,
        heartbeatIntervalMs: host.heartbeatIntervalMs,
      }),
    );
    endpoint.attach((frame) => this.queue.push(frame), hello.window, hello.instance);
    host.online(site, hello.instance, this.remoteAddress);
    const heartbeat = startHeartbeat({
      intervalMs: host.heartbeatIntervalMs,
      send: () => this.queue.push(frames.heartbeat()),
      onSilent: (silentMs) =>
        this.end(
          new FedbridgeError(
            Code.DeadlineExceeded,
            `no frame from ${site} for ${Math.round(silentMs)} ms (heartbeat every ${host.heartbeatIntervalMs} ms)`,
          ),
        ),
    });
    this.#heartbeat = heartbeat;
    for (;;) {
      const next = await this.#next(iterator);
      if (next.done) {
        this.#reason = `${site} closed its stream`;
        return;
      }
      if (!host.isCurrent(site, this)) return;
      heartbeat.seen();
      const frame = next.value;
      if (frame.kind.case === "heartbeat") host.heartbeat(site);
      else endpoint.handleFrame(frame);
    }
  }

  /** The next frame; one that is not a CellFrame is INVALID_ARGUMENT, naming the peer. */
  async #next(iterator: AsyncIterator<CellFrame>): Promise<IteratorResult<CellFrame>> {
    try {
      return await iterator.next();
    } catch (reason) {
      const error = FedbridgeError.from(reason, Code.Unavailable);
      if (error.code !== Code.InvalidArgument) throw error;
      throw new FedbridgeError(
        Code.InvalidArgument,
        `unreadable frame from ${this.commonName}: ${error.message}`,
        { cause: reason },
      );
    }
  }

  /** The first frame must be a Hello of this protocol, naming the certificate's site. */
  #checkHello(frame: CellFrame) {
    const refuse = (code: Code, message: string): never => {
      this.#refused = true;
      this.host.logger({
        level: "warn",
        event: "cell.refused",
        stage: "handshake",
        code: codeName(code),
        message,
        commonName: this.commonName,
        ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}),
      });
      throw new FedbridgeError(code, message);
    };
    if (frame.kind.case !== "hello")
      return refuse(
        Code.InvalidArgument,
        `the first frame of a cell stream must be a Hello, not ${frameKind(frame)}`,
      );
    const hello = frame.kind.value;
    if (hello.protocolVersion !== CELL_PROTOCOL_VERSION)
      return refuse(
        Code.FailedPrecondition,
        `cell protocol ${hello.protocolVersion} is not spoken here (server speaks ${CELL_PROTOCOL_VERSION})`,
      );
    if (hello.site !== this.commonName)
      return refuse(
        Code.PermissionDenied,
        `Hello names site "${hello.site}" but the certificate belongs to "${this.commonName}"`,
      );
    if (hello.instance === "" || hello.window < 1)
      return refuse(Code.InvalidArgument, "Hello needs an instance id and a window of at least 1");
    return hello;
  }
}

/** `promise`, or a DEADLINE_EXCEEDED error with `message` after `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FedbridgeError(Code.DeadlineExceeded, message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
