import type { Controller } from "../flare-runtime/controller/controller.ts";
import { ReturnCode, type TaskResult } from "../flare-runtime/controller/task.ts";
import { BaseGrid, type RunInfo } from "../flower-api/app/grid.ts";
import { ReplyBox } from "../flower-api/app/reply-box.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { ErrorCode, Error as FlowerError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import type { RecordDict } from "../flower-api/records/record-dict.ts";
import { MESSAGE_TASK, messagesToShareable, replyFromShareable } from "./message-task.ts";
import type { SiteNode } from "./site-nodes.ts";
import { failedTaskReply } from "./task-failure.ts";

/**
 * The Grid of a Flower-style ServerApp running as a runtime job: messages become controller
 * tasks to the sites behind the nodes, carried by the runtime (cells, filters, timeouts), and
 * each site's result comes back as the Flower reply. Messages pushed together that share their
 * content (the strategy's one model for every node) become one task, sent once to all their
 * sites. A site that fails a task gives an error reply (task-failure.ts), so the strategy's
 * failure handling applies.
 */
export class RuntimeGrid extends BaseGrid {
  override readonly fixedNodes: string;
  readonly #nodes: ReadonlyMap<bigint, SiteNode>;
  readonly #box = new ReplyBox();

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodes: readonly SiteNode[],
    private readonly controller: Controller,
  ) {
    super(run, observer);
    this.#nodes = new Map(nodes.map((node) => [node.nodeId, node]));
    const sites = nodes.map((node) => node.site);
    this.fixedNodes = `the job runs at ${sites.length} site${sites.length === 1 ? "" : "s"} (${sites.join(", ")})`;
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.#nodes.keys()];
  }

  nodeName(nodeId: bigint): string {
    return this.#nodes.get(nodeId)?.site ?? `node ${nodeId}`;
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    return this.#box.take(messageIds);
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }

  /** One task per distinct content, each to the sites of its messages. */
  protected async deliver(messages: readonly Message[]): Promise<void> {
    const byContent = new Map<RecordDict, { site: string; message: Message }[]>();
    for (const message of messages) {
      const node = this.#nodes.get(message.metadata.dstNodeId);
      if (node === undefined) {
        const reason = `node ${message.metadata.dstNodeId} is not a site of this job`;
        this.#box.put(
          new Message(new FlowerError(ErrorCode.NODE_UNAVAILABLE, reason), { replyTo: message }),
        );
        continue;
      }
      const group = byContent.get(message.content) ?? [];
      group.push({ site: node.site, message });
      byContent.set(message.content, group);
    }
    for (const group of byContent.values()) this.#send(group);
  }

  #send(group: { site: string; message: Message }[]): void {
    const bySite = new Map(group.map(({ site, message }) => [site, message]));
    const settle = async (result: TaskResult) => {
      const instruction = bySite.get(result.site);
      if (instruction === undefined) return;
      bySite.delete(result.site);
      if (result.code !== ReturnCode.OK) return this.#box.put(failedTaskReply(instruction, result));
      try {
        this.#box.put(replyFromShareable(await result.read()));
      } catch (error) {
        this.#box.put(
          failedTaskReply(instruction, {
            ...result,
            code: ReturnCode.ERROR,
            message: String(error),
          }),
        );
      }
    };
    const timeout = Math.max(1, Math.ceil(Math.min(...group.map((g) => g.message.remainingTtl()))));
    void this.controller
      .broadcastAndWait(
        { name: MESSAGE_TASK, data: messagesToShareable(group), timeout },
        { targets: [...bySite.keys()], onResult: settle },
      )
      .then((results) => Promise.all(results.map(settle)));
  }
}
