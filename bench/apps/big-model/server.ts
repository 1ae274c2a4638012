import { setTimeout as sleep } from "node:timers/promises";
import { ArrayRecord, type Message, MessageType, RecordDict, ServerApp } from "fedbridge";

export const app = new ServerApp();

/**
 * Pushes the model to every node, lets go of it (the SuperLink keeps it only until the nodes
 * have fetched it), then takes the replies one at a time, checks each and drops it: what a
 * streaming aggregator does, so the SuperLink's memory stays near one model per reply in flight.
 */
app.main(async (grid, context) => {
  const numArrays = Number(context.runConfig["num-arrays"]);
  const floats = Number(context.runConfig["floats-per-array"]);
  const numNodes = Number(context.runConfig["num-nodes"]);
  let nodeIds = await grid.getNodeIds();
  while (nodeIds.length < numNodes) {
    await sleep(100);
    nodeIds = await grid.getNodeIds();
  }
  let model: ArrayRecord | undefined = ArrayRecord.fromTypedArrays(
    Array.from({ length: numArrays }, (_, a) => ({
      values: pseudoRandom(floats, a),
      shape: [floats],
    })),
  );
  const ids = await grid.pushMessages(
    nodeIds
      .slice(0, numNodes)
      .map((id) =>
        grid.createMessage(new RecordDict({ arrays: model as ArrayRecord }), MessageType.TRAIN, id),
      ),
  );
  model = undefined;
  let pending = new Set(ids);
  while (pending.size > 0) {
    for (const reply of await grid.pullMessages(pending)) {
      check(reply, numArrays, floats, numNodes);
      pending.delete(reply.metadata.replyToMessageId);
    }
    pending = new Set(pending);
    if (pending.size > 0) await sleep(20);
  }
  grid.observer.log(
    `received ${ids.length} replies of ${((numArrays * floats * 4) / 2 ** 30).toFixed(2)} GiB`,
  );
  return undefined;
});

function check(reply: Message, numArrays: number, floats: number, numNodes: number): void {
  if (reply.hasError()) throw new Error(`node ${reply.metadata.srcNodeId} failed: ${reply.error}`);
  const arrays = reply.content.arrayRecords.get("arrays") as ArrayRecord;
  if (arrays.size !== numArrays)
    throw new Error(`expected ${numArrays} arrays, got ${arrays.size}`);
  const last = arrays.get(String(numArrays - 1))?.toTypedArray() as Float32Array;
  const sent = pseudoRandom(floats, numArrays - 1)[floats - 1] as number;
  // Node p adds p + 1.
  const expected = Array.from({ length: numNodes }, (_, p) => Math.fround(sent * 0.5 + p + 1));
  if (last.length !== floats || !expected.includes(last[floats - 1] as number))
    throw new Error("unexpected values in the reply");
}

/**
 * Array `a`'s values: a multiplicative hash of each index, in [0, 1). Not constants: arrays
 * that differ by a constant would become the same objects after a node's change, and the
 * stores would keep them once, as real models never allow.
 */
function pseudoRandom(floats: number, a: number): Float32Array {
  const values = new Float32Array(floats);
  const offset = Math.imul(a, 0x85ebca77);
  for (let i = 0; i < floats; i++)
    values[i] = ((Math.imul(i, 0x9e3779b1) + offset) >>> 8) / 2 ** 24;
  return values;
}
