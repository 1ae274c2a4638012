/**
 * Round time of the native deployment for a tiny model on 2 nodes, against the round trip
 * of a bare gRPC unary call measured in the same run.
 *
 * A SuperLink and two SuperNodes run as real processes on loopback; the quickstart app runs
 * with 2 features for `BENCH_ROUNDS` rounds (default 30). A round is one train and one
 * evaluate exchange with every node (each: instruction, object pulls, reply, object pushes).
 * The figure is the median time between consecutive round ends, leaving out round 1 (it loads
 * the app). The baseline is the median of 500 unary calls of a grpc-js echo service.
 */
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { GrpcClient } from "../src/core/wire/grpc-client.ts";
import {
  implementation,
  rawServiceDefinition,
  unaryHandler,
} from "../src/core/wire/grpc-service.ts";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";
import { Control } from "../src/gen/fedbridge/v1/control_pb.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "native deployment: median round time, tiny model, 2 nodes, vs a bare gRPC round trip";

export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 30);
  const baselineMs = await grpcRoundTripMs(500);

  const processes = new BenchProcesses();
  try {
    const { fleet, control: controlAddress } = await processes.superlink();
    await processes.supernodes(fleet, 2);
    const ends: number[] = [];
    await runOnSuperLink({
      address: controlAddress,
      credentials: credentials.createInsecure(),
      appDir: "examples/quickstart",
      runConfig: { "num-server-rounds": rounds, "num-features": 2, "samples-per-node": 10 },
      observer: { ...silentObserver, roundFinished: () => ends.push(performance.now()) },
    });
    const roundMs = median(ends.slice(1).map((t, i) => t - (ends[i] as number)));
    console.log(`bare gRPC unary round trip: ${baselineMs.toFixed(3)} ms (median of 500)`);
    console.log(
      `deployment round (train + evaluate, 2 nodes): ${roundMs.toFixed(2)} ms (median of ${rounds - 1}); goal ≤ 50 ms`,
    );
    console.log(`a round costs ${(roundMs / baselineMs).toFixed(1)} bare round trips`);
    console.log(
      JSON.stringify({
        bench: "fleet-latency",
        roundMs,
        baselineRoundTripMs: baselineMs,
        ratio: roundMs / baselineMs,
      }),
    );
  } finally {
    processes.killAll();
  }
}

/** Median latency of a unary call to an in-process grpc-js service on loopback. */
async function grpcRoundTripMs(calls: number): Promise<number> {
  const server = new Server();
  server.addService(
    rawServiceDefinition(Control),
    implementation({ StopRun: unaryHandler(Control.method.stopRun, () => ({})) }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new GrpcClient(Control, `127.0.0.1:${port}`, credentials.createInsecure());
  const samples: number[] = [];
  for (let i = 0; i < calls + 50; i++) {
    const t = performance.now();
    await client.unary(Control.method.stopRun, { runId: 1n });
    if (i >= 50) samples.push(performance.now() - t); // the first 50 warm up
  }
  client.close();
  server.forceShutdown();
  return median(samples);
}
