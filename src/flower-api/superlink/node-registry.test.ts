import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HEARTBEAT_PATIENCE, NodeRegistry, type NodeStatus } from "./node-registry.ts";

// Liveness on fake timers (setTimeout and Date): the patience is exact here, whatever the
// machine's load; the deployment tests only check that a silent node is declared unavailable.

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function onlineNode(interval: number) {
  const registry = new NodeRegistry();
  const changes: NodeStatus[] = [];
  registry.onChange((node) => changes.push(node.status));
  const nodeId = registry.register("key");
  registry.activate("key", interval);
  return { registry, nodeId, changes };
}

describe("NodeRegistry liveness", () => {
  it(`keeps a node online while it heartbeats within ${HEARTBEAT_PATIENCE} intervals`, () => {
    const { registry, nodeId, changes } = onlineNode(1);
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(HEARTBEAT_PATIENCE * 1000 - 1);
      expect(registry.heartbeat(nodeId, 1)).toBe(true);
    }
    expect(registry.isOnline(nodeId)).toBe(true);
    expect(changes).toEqual(["online"]);
    registry.close();
  });

  it(`marks a node offline exactly ${HEARTBEAT_PATIENCE} intervals after its last heartbeat, and tells listeners once`, () => {
    const { registry, nodeId, changes } = onlineNode(3);
    vi.advanceTimersByTime(2000);
    registry.heartbeat(nodeId, 3);
    vi.advanceTimersByTime(HEARTBEAT_PATIENCE * 3000 - 1);
    expect(registry.isOnline(nodeId)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(registry.isOnline(nodeId)).toBe(false);
    expect(registry.onlineNodeIds()).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(changes).toEqual(["online", "offline"]);
    // A heartbeat brings it back.
    expect(registry.heartbeat(nodeId, 3)).toBe(true);
    expect(registry.isOnline(nodeId)).toBe(true);
    expect(changes).toEqual(["online", "offline", "online"]);
    registry.close();
  });
});
