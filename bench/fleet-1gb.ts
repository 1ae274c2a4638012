import { credentials } from "@grpc/grpc-js";
import { silentObserver } from "../src/flower-api/app/run-observer.ts";
import { runOnSuperLink } from "../src/flower-api/control/run-on-superlink.ts";
import { procStatusBytes } from "./lib/proc.ts";
import { BenchProcesses } from "./lib/spawn.ts";

export const description =
  "native deployment: a 1 GB model to 2 nodes and back; MB/s and the SuperLink's peak RSS";

export async function run(): Promise<void> {
  const numArrays = Number(process.env.BENCH_ARRAYS ?? 250);
  const floats = Number(process.env.BENCH_FLOATS ?? 1_000_000);
  const modelBytes = numArrays * floats * 4;
  const copyMs = copyTimeMs(numArrays, floats);

  const processes = new BenchProcesses();
  try {
    const superlink = await processes.superlink();
    await processes.supernodes(superlink.fleet, 2);
    const t = performance.now();
    await runOnSuperLink({
      address: superlink.control,
      credentials: credentials.createInsecure(),
      appDir: "bench/apps/big-model",
      runConfig: { "num-arrays": numArrays, "floats-per-array": floats },
      observer: silentObserver,
    });
    const seconds = (performance.now() - t) / 1000;
    const peakRssMb = peakRss(superlink.pid) / 2 ** 20;
    const moved = 4 * modelBytes; // out to 2 nodes, back from 2 nodes
    const mbps = moved / 2 ** 20 / seconds;
    console.log(
      `model ${(modelBytes / 2 ** 30).toFixed(2)} GiB; one in-memory copy of it: ${copyMs.toFixed(0)} ms`,
    );
    console.log(
      `to 2 nodes and back: ${seconds.toFixed(1)} s, ${mbps.toFixed(0)} MB/s over loopback (${((seconds * 1000) / copyMs).toFixed(0)} copies' worth)`,
    );
    console.log(`SuperLink peak RSS: ${peakRssMb.toFixed(0)} MB (goal: under 3072 MB)`);
    console.log(
      JSON.stringify({ bench: "fleet-1gb", modelBytes, seconds, mbps, peakRssMb, copyMs }),
    );
  } finally {
    processes.killAll();
  }
}

function copyTimeMs(numArrays: number, floats: number): number {
  const source = new Float32Array(floats).fill(1);
  const target = new Float32Array(floats);
  const t = performance.now();
  for (let a = 0; a < numArrays; a++) target.set(source);
  return performance.now() - t;
}

/** Peak resident set size of a process, in bytes (Linux's VmHWM). */
function peakRss(pid: number): number {
  return procStatusBytes(pid, "VmHWM") ?? Number.NaN;
}
