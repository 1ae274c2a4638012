import type { UserConfig } from "../app/context.ts";

/** One simulated node: its index (partition-id), id and node config. */
export interface SimulatedNode {
  index: number;
  nodeId: bigint;
  nodeConfig: UserConfig;
}

/** Given to each worker thread when it starts. */
export interface WorkerInit {
  clientappUrl: string;
  runId: bigint;
  runConfig: UserConfig;
  nodes: SimulatedNode[];
}

/** An instruction for one of the worker's nodes, as `flwr.proto.Message` bytes. */
export interface WorkerRequest {
  id: number;
  nodeIndex: number;
  bytes: Uint8Array;
}

export type WorkerReply =
  | { type: "ready" }
  | { type: "load-error"; message: string }
  | { type: "reply"; id: number; bytes: Uint8Array };
