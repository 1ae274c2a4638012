import { BaseGrid, type RunInfo } from "../app/grid.ts";
import type { RunObserver } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import type { MessageRouter } from "./message-router.ts";
import type { NodeRegistry } from "./node-registry.ts";

/**
 * The Grid of a ServerApp running inside the SuperLink: instructions go straight into the
 * router's node queues, and waits wake on replies and on nodes going offline.
 */
export class DeploymentGrid extends BaseGrid {
  /** The router's reply version at the last pull: a wait returns at once if it moved since. */
  #pulledAt = 0;

  constructor(
    run: RunInfo,
    observer: RunObserver,
    private readonly router: MessageRouter,
    private readonly nodes: NodeRegistry,
    private readonly signal: AbortSignal,
  ) {
    super(run, observer);
  }

  async getNodeIds(): Promise<bigint[]> {
    this.signal.throwIfAborted();
    return this.nodes.onlineNodeIds();
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    this.signal.throwIfAborted();
    for (const message of messages) this.router.pushInstruction(message);
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    this.signal.throwIfAborted();
    this.#pulledAt = this.router.repliesVersion;
    return this.router.takeReplies(messageIds);
  }

  protected async waitForReplies(ms: number): Promise<void> {
    await this.router.waitForReplies(ms, this.signal, this.#pulledAt);
    this.signal.throwIfAborted();
  }
}
