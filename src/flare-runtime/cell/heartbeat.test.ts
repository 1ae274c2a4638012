import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SILENCE_INTERVALS, startHeartbeat } from "./heartbeat.ts";

// The heartbeat's guarantee, on fake timers (setInterval and performance.now): exact, whatever
// the machine's load. The end-to-end tests only check that a silent site goes offline; how
// fast it does on real processes is measured by `npm run bench -- heartbeat`.

const INTERVAL = 1000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function heartbeat() {
  const send = vi.fn();
  const onSilent = vi.fn();
  const beat = startHeartbeat({ intervalMs: INTERVAL, send, onSilent });
  return { beat, send, onSilent };
}

describe("startHeartbeat", () => {
  it("sends one heartbeat every interval", () => {
    const { beat, send } = heartbeat();
    vi.advanceTimersByTime(INTERVAL - 1);
    expect(send).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(send).toHaveBeenCalledTimes(1);
    beat.seen();
    vi.advanceTimersByTime(INTERVAL);
    expect(send).toHaveBeenCalledTimes(2);
    beat.stop();
  });

  it("never calls a peer silent while anything comes from it within 1.5 intervals", () => {
    const { beat, onSilent } = heartbeat();
    for (let i = 0; i < 100; i++) {
      vi.advanceTimersByTime(SILENCE_INTERVALS * INTERVAL - 10);
      beat.seen();
    }
    expect(onSilent).not.toHaveBeenCalled();
    beat.stop();
  });

  it("calls a peer silent once, after more than 1.5 and within 1.75 intervals of its last frame, then stops", () => {
    const { beat, send, onSilent } = heartbeat();
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(INTERVAL);
      beat.seen(); // the last of these is the peer's last frame
    }
    vi.advanceTimersByTime(SILENCE_INTERVALS * INTERVAL);
    expect(onSilent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0.25 * INTERVAL);
    expect(onSilent).toHaveBeenCalledTimes(1);
    const silentMs = onSilent.mock.calls[0]?.[0] as number;
    expect(silentMs).toBeGreaterThan(SILENCE_INTERVALS * INTERVAL);
    expect(silentMs).toBeLessThanOrEqual(1.75 * INTERVAL);
    // Stopped: no more heartbeats sent, and no second call.
    const sent = send.mock.calls.length;
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(send).toHaveBeenCalledTimes(sent);
    expect(onSilent).toHaveBeenCalledTimes(1);
  });

  it("counts silence from the start when nothing ever comes", () => {
    const { onSilent } = heartbeat();
    vi.advanceTimersByTime(1.75 * INTERVAL);
    expect(onSilent).toHaveBeenCalledTimes(1);
  });

  it("does nothing once stopped", () => {
    const { beat, send, onSilent } = heartbeat();
    beat.stop();
    vi.advanceTimersByTime(10 * INTERVAL);
    expect(send).not.toHaveBeenCalled();
    expect(onSilent).not.toHaveBeenCalled();
  });
});
