import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { Controller } from "../flare-runtime/controller/controller.ts";
import { ReturnCode, type TaskResult } from "../flare-runtime/controller/task.ts";
import { DispatchGrid } from "../flower-api/app/dispatch-grid.ts";
import type { RunInfo } from "../flower-api/app/grid.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { ErrorCode } from "../flower-api/message/error.ts";
import type { Message } from "../flower-api/message/message.ts";
import type { RecordDict } from "../flower-api/records/record-dict.ts";
import { MESSAGE_TASK, messagesToShareable, replyFromShareable } from "./message-task.ts";
import type { SiteNode } from "./site-nodes.ts";

/** Failures that mean the site (not its app) did not answer: the node is unavailable. */
const UNAVAILABLE = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.NotFound,
  Code.Canceled,
  Code.Aborted,
]);

interface Pending {
  message: Message;
  node: SiteNode;
  resolve: (reply: Message) => void;
  reject: (failure: FedbridgeError) => void;
}

/**
 * The Grid of a Flower-style ServerApp running as a runtime job: messages become controller
 * tasks to the sites behind the nodes, carried by the runtime (cells, filters, timeouts), and
 * each site's result comes back as the Flower reply. Messages pushed together that share their
 * content (the strategy's one model for every node) become one task, sent once to all their
 * sites. A site that is down or too slow becomes an error reply (NODE_UNAVAILABLE), so the
 * strategy's failure handling applies.
 */
export class RuntimeGrid extends DispatchGrid<SiteNode> {
  override readonly fixedNodes: string;
  readonly #batches = new Map<RecordDict, Pending[]>();

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodes: readonly SiteNode[],
    private readonly controller: Controller,
  ) {
    super(run, observer, new Map(nodes.map((node) => [node.nodeId, node])));
    const sites = nodes.map((node) => node.site);
    this.fixedNodes = `the job runs at ${sites.length} site${sites.length === 1 ? "" : "s"} (${sites.join(", ")})`;
  }

  nodeName(nodeId: bigint): string {
    return this.nodes.get(nodeId)?.site ?? `node ${nodeId}`;
  }

  protected dispatch(message: Message, node: SiteNode): Promise<Message> {
    return new Promise((resolve, reject) => {
      const pending = { message, node, resolve, reject };
      const batch = this.#batches.get(message.content);
      if (batch) return void batch.push(pending);
      this.#batches.set(message.content, [pending]);
      // The messages of one push arrive in one go: send them after it.
      queueMicrotask(() => this.#send(message.content));
    });
  }

  protected override failureCode(failure: FedbridgeError): number {
    return UNAVAILABLE.has(failure.code)
      ? ErrorCode.NODE_UNAVAILABLE
      : ErrorCode.CLIENT_APP_CRASHED;
  }

  #send(content: RecordDict): void {
    const batch = this.#batches.get(content) ?? [];
    this.#batches.delete(content);
    const bySite = new Map(batch.map((pending) => [pending.node.site, pending]));
    const settle = async (result: TaskResult) => {
      const pending = bySite.get(result.site);
      if (pending === undefined) return;
      bySite.delete(result.site);
      if (result.code !== ReturnCode.OK)
        return pending.reject(
          new FedbridgeError(codeOf(result.code), result.message ?? result.code),
        );
      try {
        pending.resolve(replyFromShareable(await result.read()));
      } catch (error) {
        pending.reject(FedbridgeError.from(error));
      }
    };
    const timeout = Math.max(1, Math.ceil(Math.min(...batch.map((p) => p.message.remainingTtl()))));
    void this.controller
      .broadcastAndWait(
        {
          name: MESSAGE_TASK,
          data: messagesToShareable(
            batch.map(({ node, message }) => ({ site: node.site, message })),
          ),
          timeout,
        },
        { targets: [...bySite.keys()], onResult: settle },
      )
      .then((results) => Promise.all(results.map(settle)));
  }
}

function codeOf(code: ReturnCode): Code {
  switch (code) {
    case ReturnCode.CLIENT_DEAD:
      return Code.Unavailable;
    case ReturnCode.TIMEOUT:
      return Code.DeadlineExceeded;
    case ReturnCode.ABORTED:
      return Code.Aborted;
    default:
      return Code.Internal;
  }
}
