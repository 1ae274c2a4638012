/**
 * Heartbeats of one stream: send one every interval, and call the stream dead when nothing
 * at all (heartbeat or any other frame) has come for 1.5 intervals. A TCP connection can stay
 * "open" long after its peer froze or its cable was cut; this is what notices, within two
 * intervals of the peer's last sign of life.
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
  const checker = setInterval(
    () => {
      const silentMs = performance.now() - lastSeen;
      if (silentMs > SILENCE_INTERVALS * intervalMs) {
        stop();
        onSilent(silentMs);
      }
    },
    Math.max(1, intervalMs / 4),
  );
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
