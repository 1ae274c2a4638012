import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { startGrpcHttp2Server } from "../../core/wire/grpc-http2-server.ts";
import { unaryRoutes } from "../../core/wire/grpc-service.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { ObjectStore } from "../objects/object-store.ts";
import { createFleetHandlers } from "../superlink/fleet-servicer.ts";
import { MessageRouter } from "../superlink/message-router.ts";
import { NodeRegistry } from "../superlink/node-registry.ts";
import { RunRegistry } from "../superlink/run-registry.ts";
import { SuperNode } from "./supernode.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A Fleet API that answers PullMessages at once with nothing, as a Flower 1.28 SuperLink does
 * (ours holds the call for 10 s), counting the pulls.
 */
async function startQuickFleet(): Promise<{ address: string; pulls(): number }> {
  const nodes = new NodeRegistry();
  const objects = new ObjectStore();
  const state = {
    nodes,
    runs: new RunRegistry(),
    objects,
    router: new MessageRouter(objects, nodes),
  };
  const handlers = createFleetHandlers(state, { pullWaitMs: 0 });
  let pulls = 0;
  const server = await startGrpcHttp2Server(
    "127.0.0.1:0",
    unaryRoutes(Fleet, {
      ...handlers,
      pullMessages: (request, context) => {
        pulls++;
        return handlers.pullMessages(request, context);
      },
    }),
    { name: "the Fleet API", maxRequestBytes: 2 ** 20 },
  );
  const { port } = server;
  cleanups.push(async () => {
    nodes.close();
    await server.close();
  });
  return { address: `127.0.0.1:${port}`, pulls: () => pulls };
}

describe("SuperNode against a SuperLink that does not hold PullMessages", () => {
  it("backs off instead of polling hundreds of times a second", async () => {
    const fleet = await startQuickFleet();
    let onConnected = () => {};
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const node = new SuperNode({
      superlink: fleet.address,
      security: "insecure",
      log: (line) => {
        if (line.startsWith("connected to")) onConnected();
      },
    });
    const running = node.run();
    cleanups.push(async () => {
      await node.stop();
      await running;
    });
    await connected;
    const before = fleet.pulls();
    await sleep(3_000);
    // With the backoff (0.1 s doubling to 1 s): about 6 pulls in 3 s; without, hundreds.
    expect(fleet.pulls() - before).toBeLessThan(20);
    expect(fleet.pulls()).toBeGreaterThan(0);
  });
});

describe("SuperNode options", () => {
  it("refuses a workerSetup when the ClientApp runs on the caller's thread, where all nodes would share it", () => {
    const options = {
      superlink: "127.0.0.1:1",
      security: "insecure" as const,
      workerSetup: { url: "file:///setup.mjs", data: {} },
    };
    expect(() => new SuperNode({ ...options, clientAppThread: "caller" })).toThrow(
      /runs its ClientApp on the caller's thread takes no workerSetup/,
    );
    expect(() => new SuperNode({ ...options, clientAppThread: "worker" })).not.toThrow();
  });
});
