/**
 * The server's cell: one endpoint per site of the project, fed by whichever stream that site
 * has open right now, and the registry of who is online. The server parent asks sites for
 * work with `request`, answers their requests with `handle`, and hears them come and go
 * through `subscribe`. Mount it on the server's port with `cellRoutes`.
 */
import { randomUUID } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import type { ParticipantEntry } from "../provision/index.ts";
import { CellEndpoint } from "./cell-endpoint.ts";
import { type CellOptions, endpointSettings, resolveCellOptions } from "./cell-options.ts";
import type { Payload } from "./chunk-sender.ts";
import type { IncomingPayload } from "./incoming-payload.ts";
import type { CellHandler } from "./incoming-requests.ts";
import type { RequestOptions } from "./outgoing-requests.ts";
import { authorizePeer, type PeerIdentity } from "./peer-identity.ts";
import { ServerSession, type SessionHost } from "./server-session.ts";
import { type SiteEvent, SiteRegistry, type SiteStatus } from "./site-registry.ts";

export interface CellServerOptions extends CellOptions {
  /** The server's name (its certificate's CN), told to sites in the Welcome. */
  name: string;
  /** Everyone in the project (the server kit's `participants`): its clients are the sites. */
  participants: readonly ParticipantEntry[];
  /**
   * How often both ends send a heartbeat, in ms; a site silent for 1.5 intervals is offline.
   * Sites take the interval from the Welcome. Default: 5,000.
   */
  heartbeatIntervalMs?: number;
}

export interface CellServer {
  readonly name: string;
  /** Answers requests of `topic` from any site (the handler sees which in `peer`). */
  handle(topic: string, handler: CellHandler): void;
  /**
   * Asks `site` and resolves with its whole reply. A site offline now gets the request when it
   * connects, within the deadline. NOT_FOUND for a name that is not a site of the project.
   */
  request(
    site: string,
    topic: string,
    payload: Payload,
    options?: RequestOptions,
  ): Promise<Uint8Array>;
  /** As `request`, with the reply as it arrives (read large ones with `chunks()`). */
  requestStream(
    site: string,
    topic: string,
    payload: Payload,
    options?: RequestOptions,
  ): Promise<IncomingPayload>;
  /** Every site of the project, online or not. */
  sites(): SiteStatus[];
  site(name: string): SiteStatus | undefined;
  /** Hears every site going online or offline; returns the function that stops it. */
  subscribe(listener: (event: SiteEvent) => void): () => void;
  /** Serves one site's cell stream (what `cellRoutes` mounts): the frames that go out. */
  serve(
    inbound: AsyncIterable<CellFrame>,
    peer: PeerIdentity | undefined,
  ): AsyncIterable<CellFrame>;
  /** Closes every stream and fails whatever is in flight. */
  close(): void;
}

/**
 * @example
 * const cells = createCellServer({ name: kit.config.name, participants: kit.config.participants });
 * cells.subscribe((e) => console.log(e.type, e.site.name));
 * const sum = await cells.request("site-1", "add", encode([1, 2]), { timeout: 10_000 });
 */
export function createCellServer(options: CellServerOptions): CellServer {
  const resolved = resolveCellOptions(options);
  const logger = resolved.logger;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  const siteNames = options.participants.filter((p) => p.type === "client").map((p) => p.name);
  const registry = new SiteRegistry(siteNames);
  const handlers = new Map<string, CellHandler>();
  const endpoints = new Map<string, CellEndpoint>();
  const current = new Map<string, ServerSession>();
  let closed = false;

  const endpointFor = (site: string): CellEndpoint => {
    let endpoint = endpoints.get(site);
    if (!endpoint) {
      endpoint = new CellEndpoint(endpointSettings(options.name, site, resolved), handlers);
      endpoints.set(site, endpoint);
    }
    return endpoint;
  };

  const host: SessionHost = {
    name: options.name,
    instance: randomUUID(),
    heartbeatIntervalMs,
    options: resolved,
    logger,
    endpointFor,
    takeOver(site, session) {
      const previous = current.get(site);
      current.set(site, session);
      return previous;
    },
    isCurrent: (site, session) => current.get(site) === session,
    online(site, instance, remoteAddress) {
      registry.markOnline(site, instance, remoteAddress);
      logger({ level: "info", event: "cell.online", site, instance, message: `${site} is online` });
    },
    heartbeat: (site) => registry.heartbeat(site),
    ended(site, session, reason) {
      if (current.get(site) !== session) return; // replaced: the site is still online
      current.delete(site);
      endpoints.get(site)?.detach();
      registry.markOffline(site, reason);
      logger({
        level: "info",
        event: "cell.offline",
        site,
        message: `${site} is offline: ${reason}`,
      });
    },
  };

  const endpointOfSite = (site: string): CellEndpoint => {
    if (closed) throw new FedbridgeError(Code.Unavailable, `cell server ${options.name} is closed`);
    if (!registry.has(site))
      throw new FedbridgeError(Code.NotFound, `"${site}" is not a site of this project`);
    return endpointFor(site);
  };

  const requestStream = async (
    site: string,
    topic: string,
    payload: Payload,
    requestOptions?: RequestOptions,
  ) => endpointOfSite(site).request(topic, payload, requestOptions);

  return {
    name: options.name,
    handle: (topic, handler) => {
      handlers.set(topic, handler);
    },
    requestStream,
    request: async (site, topic, payload, requestOptions) =>
      (await requestStream(site, topic, payload, requestOptions)).bytes(),
    sites: () => registry.list(),
    site: (name) => registry.get(name),
    subscribe: (listener) => registry.subscribe(listener),
    serve(inbound, peer) {
      if (closed)
        throw new FedbridgeError(Code.Unavailable, `cell server ${options.name} is closed`);
      const participant = authorizePeer(peer, {
        participants: options.participants,
        expected: "client",
        logger,
      });
      return new ServerSession(host, participant.name, peer?.remoteAddress).run(inbound);
    },
    close() {
      closed = true;
      const error = new FedbridgeError(Code.Unavailable, `cell server ${options.name} is closing`);
      for (const session of current.values()) session.end(error);
      for (const endpoint of endpoints.values()) endpoint.close(error);
    },
  };
}
