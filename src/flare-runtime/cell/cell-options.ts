/**
 * The settings both kinds of cell share, with their defaults in one place. The defaults are
 * meant to be left alone: 1 MiB chunks and a window of 16 keep a loopback or LAN link busy
 * while holding at most 16 MiB per payload in flight.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellLogger } from "./cell-logger.ts";
import { silentCellLogger } from "./cell-logger.ts";
import type { EndpointSettings } from "./link-state.ts";

export interface CellOptions {
  /** Largest chunk, and largest payload sent in one frame, in bytes. Default: 1 MiB. */
  chunkSize?: number;
  /** Chunks of one incoming payload held at most before the sender must wait. Default: 16. */
  window?: number;
  /** Deadline of a request that gives none, in ms. Default: 60,000. */
  requestTimeoutMs?: number;
  /** Time for the Hello / Welcome exchange of a new stream, in ms. Default: 10,000. */
  handshakeTimeoutMs?: number;
  /** Replies kept per peer to answer duplicate requests. Default: 4,096... */
  maxRemembered?: number;
  /** ...and at most this many bytes of them. Default: 64 MiB. */
  maxRememberedBytes?: number;
  /** Receives refusals, sessions and broken streams. Default: silent. */
  logger?: CellLogger;
}

/** The most a chunk may hold; frames above MAX_FRAME_BYTES are refused by the server. */
export const MAX_CHUNK_SIZE = 8 * 2 ** 20;
/** Largest frame accepted on the cell channel: a full chunk and its envelope. */
export const MAX_FRAME_BYTES = MAX_CHUNK_SIZE + 64 * 1024;

/** HTTP/2 receive window of a cell stream and connection (both ends); the credit window bounds memory. */
export { HTTP2_WINDOW_BYTES } from "../../core/wire/http2-window.ts";

export const CELL_DEFAULTS = {
  chunkSize: 2 ** 20,
  window: 16,
  requestTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  maxRemembered: 4096,
  maxRememberedBytes: 64 * 2 ** 20,
  logger: silentCellLogger,
} as const;

export type ResolvedCellOptions = Required<CellOptions>;

/** Options with every default filled in; refuses sizes out of range. */
export function resolveCellOptions(options: CellOptions): ResolvedCellOptions {
  const resolved = { ...CELL_DEFAULTS, ...options };
  if (!(resolved.chunkSize >= 1024 && resolved.chunkSize <= MAX_CHUNK_SIZE))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `chunkSize must be between 1 KiB and ${MAX_CHUNK_SIZE} bytes, not ${resolved.chunkSize}`,
    );
  if (!(Number.isInteger(resolved.window) && resolved.window >= 1))
    throw new FedbridgeError(Code.InvalidArgument, `window must be a whole number ≥ 1`);
  return resolved;
}

export function endpointSettings(
  self: string,
  peer: string,
  options: ResolvedCellOptions,
): EndpointSettings {
  return {
    self,
    peer,
    chunkSize: options.chunkSize,
    window: options.window,
    requestTimeoutMs: options.requestTimeoutMs,
    maxRemembered: options.maxRemembered,
    maxRememberedBytes: options.maxRememberedBytes,
  };
}
