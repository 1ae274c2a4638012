import { readFileSync } from "node:fs";
import {
  Client,
  credentials,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { rawServiceDefinition } from "../src/core/wire/grpc-service.ts";
import { Fleet } from "../src/gen/flwr/proto/fleet_pb.ts";
import { killAll, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";

afterAll(killAll);

// The recorded sequence of a real Flower 1.28 SuperNode in a 2-round FedAvg run.
const transcript = readFileSync(
  new URL("../../shared/fixtures/flower-1.28/fleet-transcript/calls.jsonl", import.meta.url),
  "utf8",
)
  .trim()
  .split("\n")
  .map((line) => (JSON.parse(line).method as string).split("/").at(-1) as string);

/**
 * The shape of a sequence of Fleet calls: heartbeats (timer-driven) left out, and repeats of
 * the same call (empty polls, one call per object) counted once.
 */
function shape(methods: readonly string[]): string[] {
  return methods.filter((m) => m !== "SendNodeHeartbeat").filter((m, i, all) => m !== all[i - 1]);
}

/** A transparent gRPC proxy in front of a Fleet API that records which methods are called. */
async function recordingProxy(upstream: string) {
  const calls: string[] = [];
  const client = new Client(upstream, credentials.createInsecure());
  const handlers = Object.fromEntries(
    Fleet.methods.map((method) => [
      method.name,
      (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        calls.push(method.name);
        client.makeUnaryRequest(
          `/${Fleet.typeName}/${method.name}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          call.request,
          call.metadata as Metadata,
          {},
          callback,
        );
      },
    ]),
  );
  const server = new Server();
  server.addService(rawServiceDefinition(Fleet), handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, calls, close: () => server.forceShutdown() };
}

describe("our SuperNode's Fleet calls (--no-inline: without fedbridge's inline extension)", () => {
  it("follow the sequence of a real Flower 1.28 SuperNode over a 2-round run", async () => {
    const { fleet, control } = await startTestSuperLink();
    const proxy = await recordingProxy(fleet);
    const recorded = await startTestSuperNode(proxy.address, 0, 2, ["--no-inline"]);
    await startTestSuperNode(fleet, 1, 2);
    const run = await runFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      control,
      "--insecure",
      "--run-config",
      "num-server-rounds=2",
    ]);
    expect(run.code).toBe(0);
    recorded.child.kill("SIGTERM");
    await recorded.exited;
    proxy.close();
    expect(shape(proxy.calls).join(" ")).toEqual(shape(transcript).join(" "));
    // Spelled out: register, activate, then per message pull, (run and bundle once), objects,
    // confirm, push, objects; at the end deactivate and unregister.
    expect(shape(transcript).slice(0, 9)).toEqual([
      "RegisterNode",
      "ActivateNode",
      "PullMessages",
      "GetRun",
      "GetFab",
      "PullObject",
      "ConfirmMessageReceived",
      "PushMessages",
      "PushObject",
    ]);
  });
});
