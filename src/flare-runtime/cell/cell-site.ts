/**
 * A site's cell: it dials the server (sites never listen), keeps its one stream up, and dials
 * again after any drop with capped exponential backoff and jitter. Requests made while the
 * stream is down wait and go out on the next one; callers never see a reconnect, only a
 * deadline if the server stays away too long.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type BackoffOptions, backoffDelay } from "../../core/backoff.ts";
import { Code, codeName, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { LoadedStartupKit } from "../provision/index.ts";
import { CellEndpoint } from "./cell-endpoint.ts";
import { type CellOptions, endpointSettings, resolveCellOptions } from "./cell-options.ts";
import type { Payload } from "./chunk-sender.ts";
import type { IncomingPayload } from "./incoming-payload.ts";
import type { CellHandler } from "./incoming-requests.ts";
import type { RequestOptions } from "./outgoing-requests.ts";
import { runSiteStream } from "./site-stream.ts";

export interface CellSiteOptions extends CellOptions {
  /** The site's name: its certificate's CN. */
  name: string;
  /** Where the server listens, and its name (for messages; default: the host). */
  server: { host: string; port: number; name?: string };
  /** PEM of the project's root CA, the site's certificate and its key. */
  ca: string;
  cert: string;
  key: string;
  /** Waits between dial attempts. Default: 250 ms doubling to 30 s, half of each random. */
  backoff?: BackoffOptions;
}

/** The site's stream came up or went down. */
export type SiteConnectionEvent =
  | { type: "connected"; server: string }
  | { type: "disconnected"; code: Code; reason: string; retryInMs: number };

export interface CellSite {
  readonly name: string;
  /** Whether the stream to the server is up now. */
  readonly connected: boolean;
  /** Answers requests of `topic` from the server. */
  handle(topic: string, handler: CellHandler): void;
  /** Asks the server and resolves with its whole reply; waits out reconnects. */
  request(topic: string, payload: Payload, options?: RequestOptions): Promise<Uint8Array>;
  /** As `request`, with the reply as it arrives (read large ones with `chunks()`). */
  requestStream(
    topic: string,
    payload: Payload,
    options?: RequestOptions,
  ): Promise<IncomingPayload>;
  /** Hears the stream come up and go down; returns the function that stops it. */
  subscribe(listener: (event: SiteConnectionEvent) => void): () => void;
  /** Resolves when the stream is up (at once if it is); DEADLINE_EXCEEDED after `timeoutMs`. */
  waitConnected(timeoutMs?: number): Promise<void>;
  /** Stops dialing, closes the stream and fails whatever is in flight. */
  close(): Promise<void>;
}

/** The identity and address parts of `CellSiteOptions`, from a site's startup kit. */
export function cellSiteOptionsFromKit(
  kit: Extract<LoadedStartupKit, { type: "client" }>,
): Pick<CellSiteOptions, "name" | "server" | "ca" | "cert" | "key"> {
  return {
    name: kit.config.name,
    server: { ...kit.config.server },
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
  };
}

/**
 * Starts dialing at once.
 *
 * @example
 * const site = createCellSite({ ...cellSiteOptionsFromKit(await readStartupKit(dir)) });
 * site.handle("train", async ({ payload }) => train(await payload.bytes()));
 */
export function createCellSite(options: CellSiteOptions): CellSite {
  const resolved = resolveCellOptions(options);
  const logger = resolved.logger;
  const { host, port } = options.server;
  const url = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const handlers = new Map<string, CellHandler>();
  const serverName = options.server.name ?? host;
  const endpoint = new CellEndpoint(endpointSettings(options.name, serverName, resolved), handlers);
  const instance = randomUUID();
  const listeners = new Set<(event: SiteConnectionEvent) => void>();
  const closing = new AbortController();
  let connected = false;

  const emit = (event: SiteConnectionEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  };

  const loop = (async () => {
    let attempt = 0;
    while (!closing.signal.aborted) {
      const outcome = await runSiteStream({
        url,
        tls: { ca: options.ca, cert: options.cert, key: options.key },
        site: options.name,
        instance,
        options: resolved,
        endpoint,
        signal: closing.signal,
        onWelcome: (welcome) => {
          connected = true;
          attempt = 0;
          logger({
            level: "info",
            event: "cell.connected",
            server: welcome.server,
            message: `${options.name} connected to ${welcome.server} at ${url}`,
          });
          emit({ type: "connected", server: welcome.server });
        },
      });
      connected = false;
      if (closing.signal.aborted) break;
      const retryInMs = Math.round(backoffDelay(attempt++, options.backoff));
      const { error } = outcome;
      logger({
        level: "warn",
        event: "cell.disconnected",
        server: url,
        code: codeName(error.code),
        message: `${options.name}: stream to ${url} ${outcome.welcomed ? "dropped" : "failed"} (${error.message}); dialing again in ${retryInMs} ms`,
        retryInMs,
      });
      emit({ type: "disconnected", code: error.code, reason: error.message, retryInMs });
      // Cut short when the site closes; the loop condition then ends the loop.
      await sleep(retryInMs, undefined, { signal: closing.signal }).catch(() => {});
    }
  })();

  const requestStream = (topic: string, payload: Payload, requestOptions?: RequestOptions) =>
    endpoint.request(topic, payload, requestOptions);

  return {
    name: options.name,
    get connected() {
      return connected;
    },
    handle: (topic, handler) => {
      handlers.set(topic, handler);
    },
    requestStream,
    request: async (topic, payload, requestOptions) =>
      (await requestStream(topic, payload, requestOptions)).bytes(),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitConnected(timeoutMs = resolved.requestTimeoutMs) {
      if (connected) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          unsubscribe();
          reject(
            new FedbridgeError(
              Code.DeadlineExceeded,
              `${options.name} did not connect to ${url} within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        const unsubscribe = (() => {
          const listener = (event: SiteConnectionEvent) => {
            if (event.type !== "connected") return;
            clearTimeout(timer);
            listeners.delete(listener);
            resolve();
          };
          listeners.add(listener);
          return () => listeners.delete(listener);
        })();
      });
    },
    async close() {
      closing.abort();
      endpoint.close(new FedbridgeError(Code.Unavailable, `site ${options.name} is closing`));
      await loop;
    },
  };
}
