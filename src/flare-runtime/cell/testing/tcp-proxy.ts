/**
 * A loopback TCP proxy a test can cut: every connection through it is destroyed at once, the
 * way a network failure looks to both ends. TLS passes through untouched.
 */

import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Destroys every open connection (new ones still pass). */
  cut(): void;
  /** While paused, connections are refused (closed on arrival). */
  paused: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const proxy: TcpProxy = {
    port: 0,
    paused: false,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        proxy.paused = true;
        server.close(() => resolve());
        proxy.cut();
      }),
  };
  const server = createServer((client) => {
    track(client);
    if (proxy.paused) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}
