import type { Context } from "../app/context.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { ConfigReader } from "./config-values.ts";
import { STAGES, STATE_KEY, type Stage } from "./protocol.ts";

/**
 * What a node keeps between the stages of one SecAgg+ round, in `context.state` (as
 * Flower's mod does), which persists across a run's messages in every mode. The secrets
 * are wiped when the round's last stage is done.
 */
export interface NodeState {
  /** The last stage this node completed. */
  stage: Stage;
  nodeId: bigint;
  threshold: number;
  clippingRange: number;
  quantizationRange: number;
  modulusRange: number;
  maxWeight: number;
  weightKey: string;
  /** Key pair 1 makes the pairwise masks; key pair 2 encrypts the shares. */
  sk1: Uint8Array;
  pk1: Uint8Array;
  sk2: Uint8Array;
  pk2: Uint8Array;
  /** The seed of this node's self mask; empty until share_keys. */
  seed: Uint8Array;
  /** The nodes whose public keys the server sent (this node included), and their keys. */
  neighbours: bigint[];
  pk1s: Uint8Array[];
  pk2s: Uint8Array[];
  /** Shares this node holds, by owner: of the owner's self-mask seed and of its sk1. */
  shareOwners: bigint[];
  seedShares: Uint8Array[];
  skShares: Uint8Array[];
  /** The neighbours whose pairwise masks this node added (collect_masked_vectors). */
  maskedWith: bigint[];
}

/** The node's state, or undefined when it is between rounds. */
export function loadNodeState(context: Context): NodeState | undefined {
  const record = context.state.configRecords.get(STATE_KEY);
  if (record === undefined) return undefined;
  const r = new ConfigReader(record, "node state");
  const stage = r.string("stage") as Stage;
  if (!STAGES.includes(stage)) return undefined;
  return {
    stage,
    nodeId: r.nodeId("nodeId"),
    threshold: r.integer("threshold"),
    clippingRange: r.number("clippingRange"),
    quantizationRange: r.integer("quantizationRange"),
    modulusRange: r.integer("modulusRange"),
    maxWeight: r.number("maxWeight"),
    weightKey: r.string("weightKey"),
    sk1: r.bytes("sk1"),
    pk1: r.bytes("pk1"),
    sk2: r.bytes("sk2"),
    pk2: r.bytes("pk2"),
    seed: r.bytes("seed"),
    neighbours: r.nodeIdList("neighbours"),
    pk1s: r.bytesList("pk1s"),
    pk2s: r.bytesList("pk2s"),
    shareOwners: r.nodeIdList("shareOwners"),
    seedShares: r.bytesList("seedShares"),
    skShares: r.bytesList("skShares"),
    maskedWith: r.nodeIdList("maskedWith"),
  };
}

export function saveNodeState(context: Context, state: NodeState): void {
  context.state.set(STATE_KEY, new ConfigRecord(Object.entries(state)));
}

/** Forgets the round: its keys, seed and the shares held. */
export function clearNodeState(context: Context): void {
  context.state.delete(STATE_KEY);
}
