import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { HTTP2_WINDOW_BYTES, widenReceiveWindow } from "./http2-window.ts";

describe("widenReceiveWindow", () => {
  it("opens a live session's window, and leaves a destroyed one alone instead of throwing", async () => {
    const server = http2.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise((resolve) => session.once("connect", resolve));
      widenReceiveWindow(session);
      expect(session.state.localWindowSize).toBe(HTTP2_WINDOW_BYTES);
      session.destroy();
      // What Node does itself on a destroyed session: the crash a site process once had.
      expect(() => session.setLocalWindowSize(HTTP2_WINDOW_BYTES)).toThrow(/destroyed/);
      expect(() => widenReceiveWindow(session)).not.toThrow();
    } finally {
      session.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
