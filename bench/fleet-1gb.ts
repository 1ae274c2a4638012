/**
 * A 1 GB model (250 arrays × 1M float32) goes from a SuperLink to 2 SuperNodes and back (every
 * value changed, so 4 GB cross the loopback in all). Reports the throughput and the SuperLink's
 * peak RSS (VmHWM), the goal being under 3 GB. Baseline in the same run: the time to copy the
 * model once in memory (`Float32Array.set`), so the figure reads as "copies' worth".
 * `BENCH_ARRAYS` and `BENCH_FLOATS` shrink it for a quick look.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { credentials } from "@grpc/grpc-js";
import { runOnSuperLink } from "../src/flower-api/deployment/run-on-superlink.ts";
import { silentObserver } from "../src/flower-api/index.ts";

export const description =
  "native deployment: a 1 GB model to 2 nodes and back; MB/s and the SuperLink's peak RSS";

export async function run(): Promise<void> {
  const numArrays = Number(process.env.BENCH_ARRAYS ?? 250);
  const floats = Number(process.env.BENCH_FLOATS ?? 1_000_000);
  const modelBytes = numArrays * floats * 4;
  const copyMs = copyTimeMs(numArrays, floats);

  const children: ReturnType<typeof spawn>[] = [];
  const start = (args: string[], ready: RegExp) =>
    new Promise<{ pid: number; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [
        "--max-old-space-size=8192",
        "bin/fedbridge.mjs",
        ...args,
      ]);
      children.push(child);
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk;
        if (ready.test(out)) resolve({ pid: child.pid as number, out });
      });
      child.on("exit", (code) =>
        reject(new Error(`fedbridge ${args[0]} exited (${code}): ${out}`)),
      );
    });
  try {
    const superlink = await start(
      [
        "superlink",
        "--insecure",
        "--fleet-api-address",
        "127.0.0.1:0",
        "--control-api-address",
        "127.0.0.1:0",
      ],
      /control API on port \d+/,
    );
    const [, fleet, control] =
      superlink.out.match(/Fleet API on port (\d+), control API on port (\d+)/) ?? [];
    await Promise.all(
      [0, 1].map((i) =>
        start(
          [
            "supernode",
            "--insecure",
            "--superlink",
            `127.0.0.1:${fleet}`,
            "--node-config",
            `partition-id=${i} num-partitions=2`,
          ],
          /connected/,
        ),
      ),
    );
    const t = performance.now();
    await runOnSuperLink({
      address: `127.0.0.1:${control}`,
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
    for (const child of children) child.kill("SIGKILL");
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
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}
