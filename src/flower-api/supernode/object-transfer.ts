/**
 * How a SuperNode moves a message's objects over the Fleet API: pulls an instruction's object
 * tree (children first, each checked against its id) and pushes a reply with the objects the
 * SuperLink asks for, several at once.
 */
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import type { ObjectTree } from "../../gen/flwr/proto/message_pb.ts";
import type { Message } from "../message/message.ts";
import type { DeflatedObject } from "../objects/deflate.ts";
import { listPostOrder } from "../objects/inflate.ts";
import type { ByteBoundedCache } from "./byte-bounded-cache.ts";
import type { FleetConnection } from "./fleet-connection.ts";
import { pullObject, pushObject } from "./object-calls.ts";
import { deflateReply, replyBody } from "./reply-body.ts";

/** Objects pulled or pushed at once. Flower uses 2; more overlaps round trips. */
const OBJECT_CONCURRENCY = 8;

/** Pulls every object of the tree, children first, checking each against its id. */
export async function pullObjects(
  connection: FleetConnection,
  nodeId: bigint,
  runId: bigint,
  tree: ObjectTree,
  cache: ByteBoundedCache,
): Promise<Map<string, Uint8Array>> {
  const objects = new Map<string, Uint8Array>();
  const node = { nodeId };
  const missing = listPostOrder(tree).filter((id) => {
    const cached = cache.get(id);
    if (cached !== undefined) objects.set(id, cached);
    return cached === undefined;
  });
  await forEachConcurrently(missing, OBJECT_CONCURRENCY, async (objectId) => {
    const content = await pullObject(connection, node, runId, objectId);
    objects.set(objectId, content);
    cache.set(objectId, content);
  });
  return objects;
}

/**
 * Pushes a reply (its message id set from its content) and then the objects the SuperLink
 * wants. `allowInline`: a small reply may go whole (fedbridge's inline extension). Resolves
 * with the bytes of the objects pushed.
 */
export async function pushReply(
  connection: FleetConnection,
  nodeId: bigint,
  reply: Message,
  runtime: number,
  allowInline: boolean,
): Promise<number> {
  const { tree, objects, fitsInline } = deflateReply(reply);
  // Small replies go whole (fedbridge's inline extension); others as objects, as Flower's do.
  const inline = allowInline && fitsInline;
  const body = replyBody(reply, inline);
  const node = { nodeId };
  const { objectsToPush } = await connection.call(
    Fleet.method.pushMessages,
    { node, messagesList: [body], messageObjectTrees: [tree], clientappRuntimeList: [runtime] },
    { inline },
  );
  const wanted = new Set(objectsToPush);
  const { runId } = reply.metadata;
  const toPush = listPostOrder(tree).flatMap((id) => (wanted.has(id) ? [objects.get(id)] : []));
  await forEachConcurrently(toPush, OBJECT_CONCURRENCY, (object) =>
    pushObject(connection, node, runId, object as DeflatedObject),
  );
  return toPush.reduce((sum, object) => sum + (object?.size ?? 0), 0);
}

async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}
