/** Twelve hours, Flower's default time to live of an instruction. */
export const DEFAULT_TTL = 43_200;

/** Id of the server side in every mode (Flower's SUPERLINK_NODE_ID). */
export const SERVER_NODE_ID = 1n;

/**
 * A message's envelope, as Flower 1.28's `Metadata`. Node and run ids are uint64 on the
 * wire and random, so they are bigints here. `createdAt` is Unix seconds, `ttl` seconds.
 */
export interface Metadata {
  runId: bigint;
  /** The content-addressed id of the message; empty until the message is pushed. */
  messageId: string;
  srcNodeId: bigint;
  dstNodeId: bigint;
  replyToMessageId: string;
  groupId: string;
  ttl: number;
  messageType: string;
  createdAt: number;
}

/** Now, in Unix seconds with microseconds, as Flower stamps messages. */
export function nowSeconds(): number {
  return Date.now() / 1000;
}
