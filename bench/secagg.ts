/**
 * One SecAgg+ training round against one plain FedAvg round, in the same run: 6 nodes, each
 * sending 1M float32 (4 MB), through the same in-process grid with real ClientApps (every
 * message through its wire encoding). The nodes run in this thread, so a round's time adds
 * every node's work to the server's; a timing mod outside each ClientApp splits the two, the
 * server's share (with transport) being what remains when the nodes run in parallel
 * elsewhere. Rounds alternate after a warm-up; figures are medians of `BENCH_REPS` (default 3).
 */

import { createRng } from "../src/core/numeric/random.ts";
import { ClientApp } from "../src/flower-api/app/client-app.ts";
import type { Mod } from "../src/flower-api/app/mod.ts";
import type { Message as MessageType } from "../src/flower-api/message/message.ts";
import { Message } from "../src/flower-api/message/message.ts";
import { SERVER_NODE_ID } from "../src/flower-api/message/metadata.ts";
import { computeMessageId } from "../src/flower-api/objects/deflate.ts";
import { ArrayRecord } from "../src/flower-api/records/array-record.ts";
import { MetricRecord } from "../src/flower-api/records/metric-record.ts";
import { RecordDict } from "../src/flower-api/records/record-dict.ts";
import { SecAggPlusGrid } from "../src/flower-api/secagg/secagg-plus-grid.ts";
import { secaggPlusMod } from "../src/flower-api/secagg/secagg-plus-mod.ts";
import { InMemoryGrid } from "../src/flower-api/simulation/in-memory-grid.ts";
import { FedAvg } from "../src/flower-api/strategy/fedavg.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";

export const description = "SecAgg+ round vs plain FedAvg round: 6 nodes × 1M float32, in process";

const NODES = 6;
const FLOATS = 1_000_000;

/**
 * InMemoryGrid, awaiting each node's reply in turn instead of BaseGrid's pull-and-wait loop,
 * which can miss the wake-up of a reply that arrives from a microtask between its pull and
 * its wait (then it sleeps until the timeout). One node at a time, so the timing mod sees
 * each node's work alone (in one thread they would only interleave). Same dispatch: wire
 * encoding, runClientApp.
 */
class DirectGrid extends InMemoryGrid {
  override async sendAndReceive(messages: Iterable<MessageType>): Promise<MessageType[]> {
    const batch = [...messages];
    for (const m of batch) {
      m.metadata.runId = this.run.runId;
      m.metadata.srcNodeId = SERVER_NODE_ID;
      m.metadata.messageId = computeMessageId(m);
    }
    const replies: MessageType[] = [];
    for (const m of batch) {
      replies.push(await this.dispatch(m, this.nodes.get(m.metadata.dstNodeId) as never));
    }
    return replies;
  }
}

export async function run(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const updates = Array.from({ length: NODES }, (_, i) => {
    const rng = createRng("bench-secagg", i);
    const values = Float32Array.from({ length: FLOATS }, () => 2 * rng.next() - 1);
    return ArrayRecord.fromTypedArrays([{ values, shape: [FLOATS] }]);
  });
  let nodeMs = 0;
  const timed: Mod = async (message, context, next) => {
    const start = performance.now();
    try {
      return await next(message, context);
    } finally {
      nodeMs += performance.now() - start;
    }
  };
  const makeGrid = (secure: boolean) => {
    const grid = new DirectGrid({ runId: 1n, runConfig: { seed: 0 } });
    updates.forEach((arrays, i) => {
      const mods = secure ? [timed, secaggPlusMod] : [timed];
      const app = new ClientApp({ mods }).train((msg) => {
        const metrics = new MetricRecord({ loss: 0.1 * i, "num-examples": 100 + 10 * i });
        return new Message(new RecordDict({ arrays, metrics }), { replyTo: msg });
      });
      grid.addNode(app);
    });
    return secure
      ? new SecAggPlusGrid(grid, { numShares: NODES, reconstructionThreshold: 4 })
      : grid;
  };
  const initialArrays = ArrayRecord.fromTypedArrays([
    { values: new Float32Array(FLOATS), shape: [FLOATS] },
  ]);
  const round = async (secure: boolean) => {
    const grid = makeGrid(secure);
    nodeMs = 0;
    const start = performance.now();
    const result = await new FedAvg({ fractionEvaluate: 0 }).start({
      grid,
      initialArrays,
      numRounds: 1,
    });
    const totalMs = performance.now() - start;
    return { totalMs, nodeMs, arrays: result.arrays.toTypedArrays()[0] as Float32Array };
  };

  const plain: { totalMs: number; nodeMs: number }[] = [];
  const secure: { totalMs: number; nodeMs: number }[] = [];
  let maxError = 0;
  for (let r = -1; r < reps; r++) {
    const a = await round(false);
    const b = await round(true);
    for (let k = 0; k < FLOATS; k++) {
      maxError = Math.max(maxError, Math.abs((a.arrays[k] as number) - (b.arrays[k] as number)));
    }
    if (r >= 0) {
      plain.push(a);
      secure.push(b);
    }
  }
  if (!(maxError < 1e-4)) throw new Error(`secagg: the secure aggregate is off by ${maxError}`);

  const med = (xs: { totalMs: number; nodeMs: number }[], f: (x: (typeof xs)[0]) => number) =>
    median(xs.map(f));
  const plainTotal = med(plain, (x) => x.totalMs);
  const secureTotal = med(secure, (x) => x.totalMs);
  const plainServer = med(plain, (x) => x.totalMs - x.nodeMs);
  const secureServer = med(secure, (x) => x.totalMs - x.nodeMs);
  const secureNodes = med(secure, (x) => x.nodeMs);
  const plainNodes = med(plain, (x) => x.nodeMs);
  console.log(
    `secagg: one round of ${NODES} nodes × ${FLOATS.toLocaleString("en")} float32, median of ${reps} (max |secure − plain| ${maxError.toExponential(1)})`,
  );
  const line = (label: string, plainMs: number, secureMs: number, ratio = true) =>
    console.log(
      `  ${label.padEnd(30)} plain ${plainMs.toFixed(0).padStart(6)} ms   SecAgg+ ${secureMs.toFixed(0).padStart(6)} ms` +
        (ratio ? `   ${(secureMs / plainMs).toFixed(2)} ×` : ""),
    );
  line("round (nodes in this thread)", plainTotal, secureTotal);
  line("server and transport", plainServer, secureServer);
  line("one node's ClientApp", plainNodes / NODES, secureNodes / NODES, false);
  line(
    "server + one node (parallel)",
    plainServer + plainNodes / NODES,
    secureServer + secureNodes / NODES,
  );
  console.log(
    JSON.stringify({
      bench: "secagg",
      plainRoundMs: Math.round(plainTotal),
      secaggRoundMs: Math.round(secureTotal),
      ratio: round3(secureTotal / plainTotal),
      plainServerMs: Math.round(plainServer),
      secaggServerMs: Math.round(secureServer),
      serverRatio: round3(secureServer / plainServer),
      secaggNodeMsPerNode: Math.round(secureNodes / NODES),
      maxError,
    }),
  );
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
