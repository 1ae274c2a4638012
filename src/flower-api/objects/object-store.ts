import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { sha256HexAside } from "../../core/security/sha256-aside.ts";
import { type ObjectTree, ObjectTreeSchema } from "../../gen/flwr/proto/message_pb.ts";
import type { DeflatedObject } from "./deflate.ts";
import { isObjectId, objectTreeOf, parseObject } from "./inflate.ts";

/**
 * What PullObject answers: registered or not, uploaded or not, and once it is, its bytes: as
 * `pieces` to write one after the other, and as `bytes`, one array (for an object built here, a
 * copy joined on each read: serve `pieces` where the transport takes them).
 */
export interface ObjectLookup {
  found: boolean;
  available: boolean;
  bytes?: Uint8Array;
  /** The length of `bytes`, without joining them. */
  size?: number;
  pieces?: readonly Uint8Array[];
}

interface Entry {
  /**
   * Undefined until the object is uploaded: then the bytes received, or the object built here
   * (a ServerApp's model), kept as its pieces (header, then the array's own bytes), so a model
   * every node pulls is never copied to be served.
   */
  content: Uint8Array | DeflatedObject | undefined;
  /** Children as the preregistered tree gave them; ref counts follow this list. */
  childIds: readonly string[];
  /** Number of registered parents; a message (a root) has none. */
  refCount: number;
  runs: Set<bigint>;
}

/**
 * The SuperLink's object store, in memory, with Flower 1.28's semantics
 * (`InMemoryObjectStore`). A message's tree is preregistered first, which says which
 * objects still have to be uploaded; objects shared by several messages (one model sent to
 * every node) are stored once and reference-counted, and confirming a message deletes the
 * objects no other message uses. Byte arrays are kept as given, never copied, and objects
 * built here as their pieces.
 *
 * @example
 * const missing = store.preregister(runId, tree); // PushMessages
 * await store.put(id, bytes);                      // PushObject, for each missing id
 * const message = inflateMessage(tree.objectId, (id) => store.get(id).bytes);
 */
export class ObjectStore {
  readonly #entries = new Map<string, Entry>();
  readonly #runs = new Map<bigint, Set<string>>();
  #size = 0;

  /** Bytes of object content held, to watch memory. */
  get size(): number {
    return this.#size;
  }

  /** Number of registered objects, uploaded or not. */
  get count(): number {
    return this.#entries.size;
  }

  /** True when `id` is registered (PullObject's `object_found`). */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /**
   * Registers every object of `tree` for `runId` and returns, children first and each
   * once, the ids not yet uploaded: what PushMessages answers as `objects_to_push`. Ids
   * must be 64-hex; the whole tree is checked before anything is registered.
   */
  preregister(runId: bigint, tree: ObjectTree): string[] {
    const bad = walk(tree).find((node) => !isObjectId(node.objectId));
    if (bad !== undefined) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `invalid object id '${bad.objectId.slice(0, 80)}' in the object tree`,
      );
    }
    const runObjects = this.#runObjects(runId);
    const missing = new Set<string>();
    for (const node of walk(tree)) {
      let entry = this.#entries.get(node.objectId);
      if (entry === undefined) {
        const childIds = node.children.map((child) => child.objectId);
        entry = { content: undefined, childIds, refCount: 0, runs: new Set() };
        this.#entries.set(node.objectId, entry);
        // Post-order: the children are registered already.
        for (const childId of childIds) (this.#entries.get(childId) as Entry).refCount++;
      }
      entry.runs.add(runId);
      runObjects.add(node.objectId);
      if (entry.content === undefined) missing.add(node.objectId);
    }
    return [...missing];
  }

  /**
   * Stores an uploaded object (PushObject). False when the bytes do not hash to `id` or
   * `id` was never preregistered; a malformed header, or children other than the
   * registered tree's, is a FAILED_PRECONDITION error. Uploading twice is a no-op. Large
   * received bytes are hashed beside this thread (sha256HexAside), which meanwhile takes in
   * more.
   */
  async put(id: string, bytes: Uint8Array): Promise<boolean> {
    if ((await sha256HexAside(bytes)) !== id) return false;
    const { childIds } = parseObject(bytes);
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    if (entry.content !== undefined) return true;
    const registered = new Set(entry.childIds);
    if (childIds.length !== registered.size || !childIds.every((c) => registered.has(c))) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `object ${id} lists other children than its preregistered tree`,
      );
    }
    entry.content = bytes;
    this.#size += bytes.length;
    return true;
  }

  /**
   * Preregisters and stores a tree built here (a ServerApp's instruction), without
   * hashing again (deflate computed the ids from these very bytes) and without joining the
   * objects' bytes.
   */
  putDeflated(deflated: DeflatedObject, runId: bigint): void {
    this.preregister(runId, objectTreeOf(deflated));
    const stored = new Set<string>();
    const store = (object: DeflatedObject): void => {
      if (stored.has(object.id)) return;
      stored.add(object.id);
      for (const child of object.children) store(child);
      const entry = this.#entries.get(object.id) as Entry;
      if (entry.content === undefined) {
        entry.content = object;
        this.#size += object.size;
      }
    };
    store(deflated);
  }

  /** PullObject: not registered, registered but not uploaded, or the bytes. */
  get(id: string): ObjectLookup {
    const entry = this.#entries.get(id);
    if (entry === undefined) return { found: false, available: false };
    const content = entry.content;
    if (content === undefined) return { found: true, available: false };
    if (content instanceof Uint8Array)
      return {
        found: true,
        available: true,
        bytes: content,
        size: content.length,
        pieces: [content],
      };
    return {
      found: true,
      available: true,
      get bytes() {
        return content.join();
      },
      size: content.size,
      // Made when asked for: most lookups (a tree's size, a message inflated) want none.
      get pieces() {
        return content.pieces();
      },
    };
  }

  /** The registered tree under `id`, as PullMessages sends it; undefined if not registered. */
  objectTree(id: string): ObjectTree | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const children: ObjectTree[] = [];
    for (const childId of entry.childIds) {
      const child = this.objectTree(childId);
      if (child !== undefined) children.push(child);
    }
    return create(ObjectTreeSchema, { objectId: id, children });
  }

  /**
   * Deletes `id` if no registered parent refers to it, then each child that no other
   * parent refers to any more: ConfirmMessageReceived, or dropping a consumed reply.
   */
  delete(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.refCount > 0) return;
    this.#entries.delete(id);
    if (entry.content !== undefined)
      this.#size -= entry.content instanceof Uint8Array ? entry.content.length : entry.content.size;
    for (const runId of entry.runs) this.#runs.get(runId)?.delete(id);
    for (const childId of entry.childIds) {
      const child = this.#entries.get(childId);
      if (child === undefined) continue;
      child.refCount--;
      this.delete(childId);
    }
  }

  /** Deletes the messages of a finished run and the objects only they used. */
  deleteRun(runId: bigint): void {
    const ids = this.#runs.get(runId);
    if (ids === undefined) return;
    for (const id of [...ids]) {
      const entry = this.#entries.get(id);
      if (entry === undefined) continue;
      entry.runs.delete(runId);
      if (entry.refCount === 0) this.delete(id);
    }
    this.#runs.delete(runId);
  }

  #runObjects(runId: bigint): Set<string> {
    const ids = this.#runs.get(runId) ?? new Set<string>();
    this.#runs.set(runId, ids);
    return ids;
  }
}

/** The nodes of `tree` children first, repeats included, as Flower's iterate_object_tree. */
function walk(tree: ObjectTree, out: ObjectTree[] = []): ObjectTree[] {
  for (const child of tree.children) walk(child, out);
  out.push(tree);
  return out;
}
