/**
 * What the cell layer tells operators: who was refused and why, which sites came and went,
 * which streams broke. It logs through a function the caller injects, so a server parent can
 * route events to pino and a test can collect them and assert on refusals.
 */
import type { Logger } from "pino";

/** Where a peer was turned away: in the TLS handshake, by its name, or by its first frames. */
export type RefusalStage = "tls" | "identity" | "handshake";

/** One thing that happened in the cell layer; `message` is a sentence for humans. */
export type CellLogEvent =
  | {
      level: "warn";
      event: "cell.refused";
      stage: RefusalStage;
      message: string;
      /** Node's or gRPC's code for the refusal (e.g. CERT_HAS_EXPIRED, permission_denied). */
      code: string;
      /** The certificate's CN, when the peer presented one that could be read. */
      commonName?: string;
      remoteAddress?: string;
    }
  | {
      /** A connection closed before its TLS handshake ended (a port probe, a health check). */
      level: "debug";
      event: "cell.probe";
      message: string;
      remoteAddress?: string;
    }
  | { level: "info"; event: "cell.online"; site: string; instance: string; message: string }
  | { level: "info"; event: "cell.offline"; site: string; message: string }
  | { level: "info"; event: "cell.replaced"; site: string; message: string }
  | {
      level: "warn";
      event: "cell.stream-closed";
      peer: string;
      code: string;
      message: string;
    }
  | { level: "info"; event: "cell.connected"; server: string; message: string }
  | {
      level: "warn";
      event: "cell.disconnected";
      server: string;
      code: string;
      message: string;
      /** When the site dials again. */
      retryInMs: number;
    };

/** Receives every event of the cell layer. Must not throw. */
export type CellLogger = (event: CellLogEvent) => void;

/** Drops everything: the default where no logger is given. */
export const silentCellLogger: CellLogger = () => {};

/**
 * Routes cell events to a pino logger at their level (pino writes its own `level` field), the
 * sentence as pino's message.
 */
export function pinoCellLogger(logger: Logger): CellLogger {
  return ({ message, level, ...fields }) => logger[level](fields, message);
}
