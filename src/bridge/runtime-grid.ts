import { Code, type FedbridgeError } from "../core/fedbridge-error.ts";
import type { ServerJobContext } from "../flare-runtime/job/job-runner.ts";
import { DispatchGrid } from "../flower-api/app/dispatch-grid.ts";
import type { RunInfo } from "../flower-api/app/grid.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { ErrorCode } from "../flower-api/message/error.ts";
import type { Message } from "../flower-api/message/message.ts";
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
export class RuntimeGrid extends DispatchGrid<SiteNode> {
  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodes: readonly SiteNode[],
    private readonly job: ServerJobContext,
  ) {
    super(run, observer, new Map(nodes.map((node) => [node.nodeId, node])));
  }

  protected async dispatch(message: Message, node: SiteNode): Promise<Message> {
    const timeout = Math.max(1, Math.ceil(message.remainingTtl()));
    const reply = await this.job.request(node.site, "message", encodeMessage(message), { timeout });
    return decodeMessage(reply as Uint8Array);
  }

  protected override failureCode(failure: FedbridgeError): number {
    return UNAVAILABLE.has(failure.code)
      ? ErrorCode.NODE_UNAVAILABLE
      : ErrorCode.CLIENT_APP_CRASHED;
  }
}
