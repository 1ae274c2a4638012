import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { BaseGrid, type RunInfo } from "./grid.ts";
import { ReplyBox } from "./reply-box.ts";
import type { RunObserver } from "./run-observer.ts";

/**
 * A Grid that hands each message to its node and gets the reply back as a promise: the
 * simulation (worker threads), the bridge (runtime job requests) and in-memory tests differ
 * only in `dispatch`. A message to an unknown node, or whose dispatch fails, gets an error
 * reply, so a strategy always hears back.
 */
export abstract class DispatchGrid<Node> extends BaseGrid {
  readonly #box = new ReplyBox();

  constructor(
    run: RunInfo,
    observer: RunObserver,
    protected readonly nodes: ReadonlyMap<bigint, Node>,
  ) {
    super(run, observer);
  }

  /** Delivers one message to its node and resolves with the node's reply. */
  protected abstract dispatch(message: Message, node: Node): Promise<Message>;

  /** The error code of a reply whose dispatch failed. Default: CLIENT_APP_CRASHED. */
  protected failureCode(_failure: FedbridgeError): number {
    return ErrorCode.CLIENT_APP_CRASHED;
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.nodes.keys()];
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      const node = this.nodes.get(message.metadata.dstNodeId);
      if (node === undefined) {
        this.#box.put(
          errorReply(
            message,
            ErrorCode.NODE_UNAVAILABLE,
            `node ${message.metadata.dstNodeId} does not exist`,
          ),
        );
        continue;
      }
      this.dispatch(message, node).then(
        (reply) => this.#box.put(reply),
        (cause) => {
          const failure = FedbridgeError.from(cause);
          this.#box.put(errorReply(message, this.failureCode(failure), failure.message));
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
  return new Message(new MessageError(code, reason), { replyTo: to });
}
