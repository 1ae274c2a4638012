import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { ServerJobContext } from "../flare-runtime/job/job-runner.ts";
import { BaseGrid, type RunInfo } from "../flower-api/app/grid.ts";
import { ReplyBox } from "../flower-api/app/reply-box.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { Error, ErrorCode } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { decodeMessage, encodeMessage } from "../flower-api/message/message-serde.ts";
import type { SiteNode } from "./site-nodes.ts";

/** Failures that mean the site (not its app) did not answer: the node is unavailable. */
const UNAVAILABLE = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.NotFound,
  Code.Canceled,
  Code.Aborted,
]);

/**
 * The Grid of a Flower-style ServerApp running as a runtime job: each message becomes one
 * request of the job to the site behind the node, carried by the runtime (cells, retries,
 * timeouts); the reply comes back as the Flower reply. A site that is down or too slow becomes
 * an error reply (NODE_UNAVAILABLE), so the strategy's failure handling applies.
 */
export class RuntimeGrid extends BaseGrid {
  readonly #box = new ReplyBox();
  readonly #byNodeId: ReadonlyMap<bigint, SiteNode>;

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodes: readonly SiteNode[],
    private readonly job: ServerJobContext,
  ) {
    super(run, observer);
    this.#byNodeId = new Map(nodes.map((node) => [node.nodeId, node]));
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.#byNodeId.keys()];
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      const node = this.#byNodeId.get(message.metadata.dstNodeId);
      if (node === undefined) {
        this.#box.put(
          errorReply(
            message,
            ErrorCode.NODE_UNAVAILABLE,
            `no site is node ${message.metadata.dstNodeId}`,
          ),
        );
        continue;
      }
      const timeout = Math.max(1, Math.ceil(message.remainingTtl()));
      this.job.request(node.site, "message", encodeMessage(message), { timeout }).then(
        (reply) => this.#box.put(decodeMessage(reply as Uint8Array)),
        (cause) => {
          const failure = FedbridgeError.from(cause);
          const code = UNAVAILABLE.has(failure.code)
            ? ErrorCode.NODE_UNAVAILABLE
            : ErrorCode.CLIENT_APP_CRASHED;
          this.#box.put(errorReply(message, code, `site ${node.site}: ${failure.message}`));
        },
      );
    }
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    return this.#box.take(messageIds);
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }
}

function errorReply(to: Message, code: number, reason: string): Message {
  return new Message(new Error(code, reason), { replyTo: to });
}
