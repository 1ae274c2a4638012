/**
 * The live instructions of each node, and which of those nodes are offline: lets the router
 * find the instructions it can answer with NODE_UNAVAILABLE without looking at every one a
 * ServerApp waits for (a grid asks about a whole round's after each reply that lands, which at
 * 1,000 nodes made a round cost O(N²) lookups).
 */
export class NodeInstructions {
  readonly #byNode = new Map<bigint, Set<string>>();
  /** Nodes with live instructions that are not online. */
  readonly #offline = new Set<bigint>();

  add(node: bigint, id: string, online: boolean): void {
    const ids = this.#byNode.get(node) ?? new Set();
    ids.add(id);
    this.#byNode.set(node, ids);
    if (!online) this.#offline.add(node);
  }

  delete(node: bigint, id: string): void {
    const ids = this.#byNode.get(node);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size > 0) return;
    this.#byNode.delete(node);
    this.#offline.delete(node);
  }

  /** A node's status changed (the registry's onChange). */
  nodeChanged(node: bigint, online: boolean): void {
    if (online) this.#offline.delete(node);
    else if (this.#byNode.has(node)) this.#offline.add(node);
  }

  /** The live instructions of nodes that are offline. */
  ofOfflineNodes(): string[] {
    return [...this.#offline].flatMap((node) => [...(this.#byNode.get(node) ?? [])]);
  }
}
