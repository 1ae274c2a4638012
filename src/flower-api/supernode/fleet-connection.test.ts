import { createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { FleetConnection } from "./fleet-connection.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A TCP listener that counts the connections made to it (it never answers). */
async function countingListener(): Promise<{ address: string; count(): number }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, count: () => sockets.length };
}

/** One call on each of two connections to `address`, waited out (nothing answers). */
async function callTwice(address: string, ownConnection: boolean): Promise<void> {
  const connections = [1, 2].map(
    () => new FleetConnection(address, "insecure", undefined, ownConnection),
  );
  cleanups.push(() => {
    for (const connection of connections) connection.close();
  });
  await Promise.allSettled(
    connections.map((c) => c.call(Fleet.method.registerNode, {}, { timeout: 1 })),
  );
}

describe("FleetConnection", () => {
  it("shares one connection with another to the same SuperLink by default (grpc-js)", async () => {
    const listener = await countingListener();
    await callTwice(listener.address, false);
    expect(listener.count()).toBe(1);
  });

  it("dials one of its own with ownConnection, as nodes in separate processes would", async () => {
    const listener = await countingListener();
    await callTwice(listener.address, true);
    expect(listener.count()).toBe(2);
  });
});
