/**
 * Many SuperNodes in one process, for `bench nodes`: each a real SuperNode (its own key,
 * registration, heartbeats, pulls and replies) whose ClientApp runs on this process's thread
 * (clientAppThread "caller"), not on a thread per node. Node i has partition-id FIRST + i of
 * TOTAL. Prints "connected N" as nodes connect and "ready MS" (ms from the first node's start
 * to the last one's registration) once all have; on SIGTERM the nodes leave (deactivate,
 * unregister) and the process exits.
 *
 * Usage: node bin/run-ts.mjs bench/lib/many-nodes.ts FLEET_HOST:PORT FIRST COUNT TOTAL
 */
import { SuperNode } from "../../src/flower-api/supernode/supernode.ts";

const [fleet, first, count, total] = process.argv.slice(2);
if (fleet === undefined || total === undefined)
  throw new Error("usage: many-nodes FLEET FIRST COUNT TOTAL");
const start = performance.now();
let connected = 0;
/** What nodes reported other than connecting, by line (printed with each progress line). */
const problems = new Map<string, number>();
const problemsText = () =>
  [...problems].map(([line, n]) => `${n}× ${line.slice(0, 160)}`).join("; ") || "none";
const nodes = Array.from({ length: Number(count) }, (_, i) => {
  let counted = false;
  return new SuperNode({
    superlink: fleet,
    security: "insecure",
    nodeConfig: { "partition-id": Number(first) + i, "num-partitions": Number(total) },
    clientAppThread: "caller",
    // BENCH_OWN_CONNECTIONS=1: a connection per node, as N machines would make (grpc-js shares
    // one per process otherwise). At 1,000 nodes it can stall registration: see BENCHMARKS.md.
    ownConnection: process.env.BENCH_OWN_CONNECTIONS === "1",
    log: (line) => {
      if (line.startsWith("connected to") && !counted) {
        counted = true;
        connected++;
        if (connected % 100 === 0 || connected === nodes.length)
          console.log(`connected ${connected} (other events: ${problemsText()})`);
        if (connected === nodes.length)
          console.log(`ready ${(performance.now() - start).toFixed(0)}`);
      } else if (!/^run \d+: loaded /.test(line)) {
        // Ids and timings vary: count lines by their shape.
        const shape = line.replace(/\d+(\.\d+)?/g, "N");
        problems.set(shape, (problems.get(shape) ?? 0) + 1);
        if (process.env.BENCH_VERBOSE) console.log(line);
      }
    },
  });
});
const running = nodes.map((node) => node.run());
process.on("SIGTERM", async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await Promise.all(running);
  console.log(`stopped (other events: ${problemsText()})`);
  process.exit(0);
});
