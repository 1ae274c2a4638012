import { randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/** Flower's HEARTBEAT_PATIENCE: a node is offline after missing two heartbeat intervals. */
export const HEARTBEAT_PATIENCE = 2;

export type NodeStatus = "registered" | "online" | "offline" | "unregistered";

export interface NodeRecord {
  nodeId: bigint;
  /** PEM SubjectPublicKeyInfo bytes, compared byte for byte as Flower does. */
  publicKey: string;
  status: NodeStatus;
  heartbeatInterval: number;
  /** Unix ms after which the node counts as offline. */
  onlineUntil: number;
  /**
   * Loaded from the database after a SuperLink restart and not activated since: it counts as
   * online for one patience period, so its work waits for it to reconnect.
   */
  restored?: boolean;
}

/** Where the registry writes what must survive a SuperLink restart (superlink-database.ts). */
export interface NodeStore {
  saveNode(node: {
    nodeId: bigint;
    publicKey: string;
    heartbeatInterval: number;
    unregistered: boolean;
  }): void;
}

export interface NodeRegistryOptions {
  /** Shortest heartbeat interval a node may ask for, in seconds. Default: 1 (Flower: 10). */
  minHeartbeatInterval?: number;
  /** Longest, in seconds. Default: 1800. */
  maxHeartbeatInterval?: number;
  /** Keeps nodes and their keys across restarts. Default: none (memory only). */
  store?: NodeStore;
}

/**
 * The SuperLink's nodes and their liveness, with Flower 1.28's lifecycle: register,
 * activate, heartbeat, deactivate, unregister. A timer per node marks it offline the moment
 * its heartbeats stop (2 × interval), and `onChange` tells waiters at once: no polling.
 */
export class NodeRegistry {
  readonly #nodes = new Map<bigint, NodeRecord>();
  readonly #byKey = new Map<string, bigint>();
  readonly #timers = new Map<bigint, NodeJS.Timeout>();
  readonly #listeners = new Set<(node: NodeRecord) => void>();
  readonly #min: number;
  readonly #max: number;
  readonly #store: NodeStore | undefined;

  constructor(options: NodeRegistryOptions = {}) {
    this.#min = options.minHeartbeatInterval ?? 1;
    this.#max = options.maxHeartbeatInterval ?? 1800;
    this.#store = options.store;
  }

  /**
   * Takes back the nodes a previous SuperLink process kept. A node that had activated counts
   * as online for one patience period (2 × its interval), as if it had just sent a heartbeat:
   * the work of a resumed run waits that long for it to reconnect with its key.
   */
  restore(
    nodes: readonly {
      nodeId: bigint;
      publicKey: string;
      heartbeatInterval: number;
      unregistered: boolean;
    }[],
  ): void {
    for (const stored of nodes) {
      const node: NodeRecord = {
        nodeId: stored.nodeId,
        publicKey: stored.publicKey,
        status: stored.unregistered ? "unregistered" : "registered",
        heartbeatInterval: 0,
        onlineUntil: 0,
      };
      this.#nodes.set(node.nodeId, node);
      this.#byKey.set(node.publicKey, node.nodeId);
      if (!stored.unregistered && stored.heartbeatInterval > 0) {
        node.restored = true;
        this.#beat(node, stored.heartbeatInterval);
      }
    }
  }

  /** Calls `listener` whenever a node's status changes. Returns an unsubscribe function. */
  onChange(listener: (node: NodeRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  register(publicKey: string): bigint {
    if (this.#byKey.has(publicKey))
      throw new FedbridgeError(Code.FailedPrecondition, "Public key already in use");
    let nodeId = 0n;
    while (nodeId <= 1n || this.#nodes.has(nodeId)) nodeId = randomBytes(8).readBigUInt64LE();
    this.#nodes.set(nodeId, {
      nodeId,
      publicKey,
      status: "registered",
      heartbeatInterval: 0,
      onlineUntil: 0,
    });
    this.#byKey.set(publicKey, nodeId);
    this.#save(this.#nodes.get(nodeId) as NodeRecord);
    return nodeId;
  }

  activate(publicKey: string, heartbeatInterval: number): bigint {
    const node = this.#get(this.#byKey.get(publicKey));
    if (node === undefined || node.status === "unregistered") {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        "No SuperNode found with the given public key.",
      );
    }
    this.#checkInterval(heartbeatInterval);
    if (node.status === "online" && !node.restored) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `SuperNode with node ID ${node.nodeId} could not be activated.`,
      );
    }
    node.restored = false;
    this.#beat(node, heartbeatInterval);
    return node.nodeId;
  }

  /** Returns false for an unknown or unregistered node, as Flower's `success=false`. */
  heartbeat(nodeId: bigint, heartbeatInterval: number): boolean {
    const node = this.#get(nodeId);
    if (node === undefined || node.status === "unregistered") return false;
    this.#checkInterval(heartbeatInterval);
    this.#beat(node, heartbeatInterval);
    return true;
  }

  deactivate(nodeId: bigint): void {
    const node = this.#get(nodeId);
    if (node?.status !== "online")
      throw new FedbridgeError(Code.FailedPrecondition, `node ${nodeId} is not online`);
    this.#setStatus(node, "offline");
  }

  unregister(nodeId: bigint): void {
    const node = this.#get(nodeId);
    if (node === undefined || node.status === "unregistered") {
      throw new FedbridgeError(Code.FailedPrecondition, `node ${nodeId} is not registered`);
    }
    this.#setStatus(node, "unregistered");
    this.#save(node);
  }

  /** The node a public key belongs to, unless it is unknown or unregistered. */
  nodeIdForKey(publicKey: string): bigint | undefined {
    const nodeId = this.#byKey.get(publicKey);
    return this.#get(nodeId)?.status === "unregistered" ? undefined : nodeId;
  }

  isOnline(nodeId: bigint): boolean {
    const node = this.#get(nodeId);
    return node?.status === "online" && node.onlineUntil > Date.now();
  }

  onlineNodeIds(): bigint[] {
    return [...this.#nodes.values()].filter((n) => this.isOnline(n.nodeId)).map((n) => n.nodeId);
  }

  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #get(nodeId: bigint | undefined): NodeRecord | undefined {
    return nodeId === undefined ? undefined : this.#nodes.get(nodeId);
  }

  #checkInterval(seconds: number): void {
    if (!(seconds >= this.#min && seconds <= this.#max)) {
      throw new FedbridgeError(
        Code.InvalidArgument,
        `Invalid heartbeat interval ${seconds} (allowed: ${this.#min} to ${this.#max} s)`,
      );
    }
  }

  #beat(node: NodeRecord, interval: number): void {
    const changed = node.heartbeatInterval !== interval;
    node.heartbeatInterval = interval;
    if (changed && !node.restored) this.#save(node);
    const patienceMs = HEARTBEAT_PATIENCE * interval * 1000;
    node.onlineUntil = Date.now() + patienceMs;
    clearTimeout(this.#timers.get(node.nodeId));
    const timer = setTimeout(() => this.#setStatus(node, "offline"), patienceMs);
    timer.unref();
    this.#timers.set(node.nodeId, timer);
    if (node.status !== "online") this.#setStatus(node, "online");
  }

  #save(node: NodeRecord): void {
    this.#store?.saveNode({
      nodeId: node.nodeId,
      publicKey: node.publicKey,
      heartbeatInterval: node.heartbeatInterval,
      unregistered: node.status === "unregistered",
    });
  }

  #setStatus(node: NodeRecord, status: NodeStatus): void {
    if (status !== "online") {
      clearTimeout(this.#timers.get(node.nodeId));
      this.#timers.delete(node.nodeId);
      node.onlineUntil = Math.min(node.onlineUntil, Date.now());
    }
    node.status = status;
    for (const listener of this.#listeners) listener(node);
  }
}
