import { type AddressInfo, connect, createServer, type Socket } from "node:net";
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

describe("startHeartbeat after this process stalls", () => {
  it("does not call a peer silent whose frame waits unread behind the stall", async () => {
    vi.useRealTimers();
    const interval = 100;
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const peer = await accepted;
    const onSilent = vi.fn();
    const beat = startHeartbeat({ intervalMs: interval, send: () => {}, onSilent });
    const frameRead = new Promise<void>((resolve) =>
      socket.once("data", () => {
        beat.seen();
        resolve();
      }),
    );
    // The peer's frame reaches this process's socket as its loop blocks for 5 intervals;
    // after the block, timers run before the socket is read.
    peer.write("frame");
    const blockedUntil = performance.now() + 5 * interval;
    while (performance.now() < blockedUntil);
    await frameRead;
    expect(onSilent).not.toHaveBeenCalled();
    beat.stop();
    socket.destroy();
    peer.destroy();
    server.close();
  });
});
