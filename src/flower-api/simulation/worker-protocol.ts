import type { UserConfig } from "../app/context.ts";

/** One simulated node: its index (partition-id), id and node config. */
export interface SimulatedNode {
  index: number;
  nodeId: bigint;
  nodeConfig: UserConfig;
}

/**
 * A module a worker imports before the app, to set up what the host provides the app (the CLI
 * uses it to send an app's SummaryWriter events to the run's output folder). It exports
 * `setup(data, currentNodeId)`; `currentNodeId()` is the node whose message is being handled.
 */
export interface WorkerSetup {
  url: string;
  data: unknown;
}

/** Given to each worker thread when it starts. */
export interface WorkerInit {
  clientappUrl: string;
  setup?: WorkerSetup;
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
