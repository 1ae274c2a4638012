/**
 * Heartbeats of one stream: send one every interval, and call the stream dead when nothing
 * at all (heartbeat or any other frame) has come for 1.5 intervals. A TCP connection can stay
 * "open" long after its peer froze or its cable was cut; this is what notices, within two
 * intervals of the peer's last sign of life (plus however long this process itself stalled).
 */

export interface HeartbeatOptions {
  intervalMs: number;
  /** Sends one heartbeat frame. */
  send: () => void;
  /** Nothing came for `silentMs`: called once, after which the heartbeat is stopped. */
  onSilent: (silentMs: number) => void;
}

export interface Heartbeat {
  /** Something came from the peer. */
  seen(): void;
  stop(): void;
}

/** How long a peer may be silent, in heartbeat intervals, before it counts as gone. */
export const SILENCE_INTERVALS = 1.5;

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { intervalMs, send, onSilent } = options;
  let lastSeen = performance.now();
  const sender = setInterval(send, intervalMs);
  // Checking four times an interval bounds detection at 1.75 intervals after the last frame.
  const period = Math.max(1, intervalMs / 4);
  let lastCheck = lastSeen;
  const checker = setInterval(() => {
    const now = performance.now();
    // A check this late means this process stalled (its loop busy, its host starved). After a
    // stall, timers run before sockets are read: the peer's frames may be waiting unread, so
    // the stall is this process's silence, not the peer's, and is not counted.
    const late = now - lastCheck - period;
    lastCheck = now;
    if (late > period) lastSeen += late;
    const silentMs = now - lastSeen;
    if (silentMs > SILENCE_INTERVALS * intervalMs) {
      stop();
      onSilent(silentMs);
    }
  }, period);
  const stop = () => {
    clearInterval(sender);
    clearInterval(checker);
  };
  return {
    seen: () => {
      lastSeen = performance.now();
    },
    stop,
  };
}
