import type { UserConfig } from "../app/context.ts";
import type { MessageParts } from "../message/message-serde.ts";

/**
 * A module a ClientApp's thread imports before the app, to give the app what its host provides
 * (the CLI points an app's SummaryWriter at the run's folder, a SuperNode forwards its events).
 * It exports `setup(data, host)`; see `WorkerHost`.
 */
export interface WorkerSetup {
  url: string;
  data: unknown;
}

/** What a setup module gets from the thread it runs in. */
export interface WorkerHost {
  /** The node whose message is being handled now, if any. */
  currentNodeId(): bigint | undefined;
  /** Sends tracking events (plain objects) to the host, which owns where they go. */
  track(events: readonly object[]): void;
}

/** Given to each ClientApp thread when it starts. */
export interface ThreadInit {
  clientappUrl: string;
  setup?: WorkerSetup;
}

/** One instruction for the thread, with the Context of the node it is for. */
export interface HandleRequest {
  id: number;
  /** The instruction: its proto, its arrays' bytes apart (transferred, not cloned). */
  message: MessageParts;
  runId: bigint;
  nodeId: bigint;
  nodeConfig: UserConfig;
  runConfig: UserConfig;
  /** The node's `context.state` as `flwr.proto.RecordDict` bytes. */
  state: Uint8Array;
}

export type ThreadReply =
  | { type: "ready" }
  | { type: "load-error"; message: string }
  | { type: "tracking"; events: object[]; nodeId: bigint | undefined }
  /** The reply (as parts) and the node's state after the handler (protobuf bytes). */
  | { type: "reply"; id: number; message: MessageParts; state: Uint8Array };

/**
 * The buffer to transfer with `bytes` (moved, not copied), when the bytes are all of it; a
 * view into a larger buffer is copied instead.
 */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer[] {
  const buffer = bytes.buffer;
  return buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength
    ? [buffer]
    : [];
}

/**
 * The buffers to transfer with a message's parts: each is the parts' own (a copy) or given up by
 * the sender (messageToParts's `move`). Shared memory is shared, not transferred.
 */
export function partsBuffers(parts: MessageParts): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const bytes of [parts.header, ...parts.arrays])
    if (bytes.buffer instanceof ArrayBuffer) buffers.add(bytes.buffer);
  return [...buffers];
}

/** Bytes of a message's arrays. */
export function partsBytes(parts: MessageParts): number {
  return parts.arrays.reduce((sum, bytes) => sum + bytes.byteLength, 0);
}
