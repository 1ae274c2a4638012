/**
 * Bytes of a message's object tree, each object counted once (a shared array is one object):
 * what decides whether an instruction is small enough to travel inline.
 */
import type { ObjectTree } from "../../gen/flwr/proto/message_pb.ts";
import type { DeflatedObject } from "../objects/deflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";

/** Bytes of a deflated tree, each object counted once. */
export function treeSize(root: DeflatedObject, seen = new Set<string>()): number {
  if (seen.has(root.id)) return 0;
  seen.add(root.id);
  return root.size + root.children.reduce((sum, child) => sum + treeSize(child, seen), 0);
}

/** Bytes of a stored tree, each object counted once. */
export function storedSize(
  objects: ObjectStore,
  tree: ObjectTree,
  seen = new Set<string>(),
): number {
  if (seen.has(tree.objectId)) return 0;
  seen.add(tree.objectId);
  const own = objects.get(tree.objectId).size ?? 0;
  return own + tree.children.reduce((sum, child) => sum + storedSize(objects, child, seen), 0);
}
