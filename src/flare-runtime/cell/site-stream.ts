/**
 * One attempt of a site to hold its stream to the server: dial over mTLS, say Hello, wait for
 * the Welcome, then carry heartbeats and frames until the stream ends. It resolves (never
 * rejects) with why it ended, so the site's reconnect loop decides what comes next.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Welcome } from "../../gen/fedbridge/v1/cell_pb.ts";
import type { CellEndpoint } from "./cell-endpoint.ts";
import type { ResolvedCellOptions } from "./cell-options.ts";
import { FrameQueue } from "./frame-queue.ts";
import { frameKind, frames } from "./frames.ts";
import { type Heartbeat, startHeartbeat } from "./heartbeat.ts";
import { connectCell } from "./site-transport.ts";

export interface SiteStreamParams {
  /** `https://host:port` of the server. */
  url: string;
  tls: { ca: string; cert: string; key: string };
  site: string;
  instance: string;
  options: ResolvedCellOptions;
  endpoint: CellEndpoint;
  /** Aborted when the site closes. */
  signal: AbortSignal;
  onWelcome: (welcome: Welcome) => void;
}

export interface StreamOutcome {
  /** Whether the server welcomed the site (the stream got past the handshake). */
  welcomed: boolean;
  error: FedbridgeError;
}

/** Fallback when a Welcome gives no interval. */
const DEFAULT_HEARTBEAT_MS = 5_000;

export async function runSiteStream(p: SiteStreamParams): Promise<StreamOutcome> {
  // A transport of its own, so the connection is closed for sure when the attempt ends.
  const connection = connectCell(p.url, p.tls);
  const queue = new FrameQueue();
  const controller = new AbortController();
  const stop = (reason: FedbridgeError) => {
    ending ??= reason;
    controller.abort(reason);
  };
  let ending: FedbridgeError | undefined;
  const onClose = () => stop(new FedbridgeError(Code.Canceled, "the site is closing"));
  p.signal.addEventListener("abort", onClose);
  let welcomed = false;
  let heartbeat: Heartbeat | undefined;
  const handshakeTimer = setTimeout(
    () =>
      stop(
        new FedbridgeError(
          Code.DeadlineExceeded,
          `no Welcome from the server within ${p.options.handshakeTimeoutMs} ms`,
        ),
      ),
    p.options.handshakeTimeoutMs,
  );
  try {
    if (p.signal.aborted) onClose();
    queue.push(frames.hello({ site: p.site, instance: p.instance, window: p.options.window }));
    for await (const frame of connection.frames(queue, controller.signal)) {
      if (welcomed) {
        heartbeat?.seen();
        if (frame.kind.case !== "heartbeat") p.endpoint.handleFrame(frame);
        continue;
      }
      if (frame.kind.case !== "welcome")
        throw new FedbridgeError(
          Code.InvalidArgument,
          `the server's first frame must be a Welcome, not ${frameKind(frame)}`,
        );
      clearTimeout(handshakeTimer);
      welcomed = true;
      const welcome = frame.kind.value;
      const intervalMs = welcome.heartbeatIntervalMs || DEFAULT_HEARTBEAT_MS;
      p.endpoint.attach((f) => queue.push(f), welcome.window, welcome.instance);
      heartbeat = startHeartbeat({
        intervalMs,
        send: () => queue.push(frames.heartbeat()),
        onSilent: (silentMs) =>
          stop(
            new FedbridgeError(
              Code.DeadlineExceeded,
              `no frame from the server for ${Math.round(silentMs)} ms (heartbeat every ${intervalMs} ms)`,
            ),
          ),
      });
      p.onWelcome(welcome);
    }
    return { welcomed, error: new FedbridgeError(Code.Unavailable, "the server ended the stream") };
  } catch (reason) {
    return { welcomed, error: ending ?? FedbridgeError.from(reason, Code.Unavailable) };
  } finally {
    clearTimeout(handshakeTimer);
    heartbeat?.stop();
    if (welcomed) p.endpoint.detach();
    queue.end();
    controller.abort();
    p.signal.removeEventListener("abort", onClose);
    connection.close();
  }
}
