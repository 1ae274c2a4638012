import type { Grid, RunInfo } from "../app/grid.ts";
import type { RunObserver } from "../app/run-observer.ts";
import type { Message } from "../message/message.ts";
import { MessageType, parseMessageType } from "../message/message-type.ts";
import type { RecordDict } from "../records/record-dict.ts";
import {
  type ResolvedSecAggPlusOptions,
  resolveSecAggPlusOptions,
  type SecAggPlusOptions,
} from "./secagg-plus-options.ts";
import { runSecAggPlusRound } from "./secagg-plus-round.ts";

/**
 * A Grid that trains with SecAgg+ under any Strategy, unchanged. Each `sendAndReceive` of
 * train instructions runs one SecAgg+ round with their nodes (which run `secaggPlusMod`): the
 * strategy's instruction reaches each node's train handler as usual, but the server only
 * ever receives masked updates and learns just their weighted sum. The strategy then gets,
 * for each node whose update is in the sum, a reply carrying the securely aggregated
 * weighted average (by `weightedByKey`) in place of the node's arrays, with the node's own
 * metrics; averaging those replies by weight gives that average back, so FedAvg and the
 * strategies built on it aggregate as they would the plain updates. A node that dropped
 * gets its error reply; a round with too many dropouts fails as a whole (every reply an
 * error that says why) and the strategy keeps its model, as Flower halts the round.
 *
 * Everything else (evaluate, query, and push/pull) goes to the wrapped grid as is; so a
 * strategy that pushes train instructions itself bypasses SecAgg+, and the nodes' mod
 * refuses them.
 *
 * @example
 * app.main(async (grid, context) => {
 *   const secure = new SecAggPlusGrid(grid, { numShares: 1, reconstructionThreshold: 0.7 });
 *   return new FedAvg().start({ grid: secure, initialArrays, numRounds: 3 });
 * });
 */
export class SecAggPlusGrid implements Grid {
  readonly #grid: Grid;
  readonly #options: ResolvedSecAggPlusOptions;
  #round = 0;

  constructor(grid: Grid, options: SecAggPlusOptions) {
    this.#grid = grid;
    this.#options = resolveSecAggPlusOptions(options);
  }

  get run(): RunInfo {
    return this.#grid.run;
  }

  get observer(): RunObserver {
    return this.#grid.observer;
  }

  createMessage(
    content: RecordDict,
    messageType: string,
    dstNodeId: bigint,
    groupId?: string,
    ttl?: number,
  ): Message {
    return this.#grid.createMessage(content, messageType, dstNodeId, groupId, ttl);
  }

  getNodeIds(): Promise<bigint[]> {
    return this.#grid.getNodeIds();
  }

  pushMessages(messages: Iterable<Message>): Promise<string[]> {
    return this.#grid.pushMessages(messages);
  }

  pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    return this.#grid.pullMessages(messageIds);
  }

  /** Runs a SecAgg+ round for the train instructions; passes the others through. */
  async sendAndReceive(
    messages: Iterable<Message>,
    options: { timeout?: number } = {},
  ): Promise<Message[]> {
    const instructions = [...messages];
    const isTrain = (m: Message) =>
      parseMessageType(m.metadata.messageType)?.category === MessageType.TRAIN;
    const train = instructions.filter(isTrain);
    if (train.length === 0) return this.#grid.sendAndReceive(instructions, options);
    const others = instructions.filter((m) => !isTrain(m));
    this.#round += 1;
    const [trainReplies, otherReplies] = await Promise.all([
      runSecAggPlusRound({
        grid: this.#grid,
        options: this.#options,
        round: this.#round,
        instructions: train,
        timeout: this.#options.timeout ?? options.timeout,
      }),
      others.length === 0 ? [] : this.#grid.sendAndReceive(others, options),
    ]);
    const byInstruction = new Map<Message, Message>([
      ...train.map((m, i) => [m, trainReplies[i] as Message] as const),
      ...others.map((m, i) => [m, otherReplies[i] as Message] as const),
    ]);
    return instructions.map((m) => byInstruction.get(m) as Message);
  }
}
