import { BaseGrid, type RunInfo } from "../app/grid.ts";
import { contentId, type Replay } from "../app/replay.ts";
import { ReplyBox } from "../app/reply-box.ts";
import type { RunObserver } from "../app/run-observer.ts";
import { Message } from "../message/message.ts";
import type { RecordDict } from "../records/record-dict.ts";
import type { MessageRouter } from "./message-router.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { RunJournal } from "./run-journal.ts";

/** A run's reply journal and the replay of its ServerApp against it. */
export interface DeploymentJournal {
  store: RunJournal;
  replay: Replay;
}

/**
 * The Grid of a ServerApp running inside the SuperLink: instructions go straight into the
 * router's node queues, and waits wake on replies and on nodes going offline. With a journal
 * (`superlink --database`), every reply the ServerApp takes and every node list it gets is
 * recorded first, and after a restart the same messages are answered from there (replay.ts).
 */
export class DeploymentGrid extends BaseGrid {
  /** The router's reply version at the last pull: a wait returns at once if it moved since. */
  #pulledAt = 0;
  readonly #journal: DeploymentJournal | undefined;
  /** Replies answered from the journal, until pulled. */
  readonly #box = new ReplyBox();
  /** Live messages by instruction id, with their keys, until their replies are taken. */
  readonly #sent = new Map<string, { key: string; node: bigint }>();
  /** How many node lists the ServerApp has been given. */
  #nodeLists = 0;

  constructor(
    run: RunInfo,
    observer: RunObserver,
    private readonly router: MessageRouter,
    private readonly nodes: NodeRegistry,
    private readonly signal: AbortSignal,
    journal?: DeploymentJournal,
  ) {
    super(run, observer);
    this.#journal = journal;
  }

  /** Whether the ServerApp is still being answered from the journal alone. */
  get replaying(): boolean {
    return this.#journal?.replay.replaying ?? false;
  }

  async getNodeIds(): Promise<bigint[]> {
    this.signal.throwIfAborted();
    if (this.#journal === undefined) return this.nodes.onlineNodeIds();
    const seq = this.#nodeLists++;
    const journaled = this.#journal.store.nodeLists()[seq];
    if (journaled !== undefined) return [...journaled];
    const ids = this.nodes.onlineNodeIds();
    this.#journal.store.recordNodeList(seq, ids);
    return ids;
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    this.signal.throwIfAborted();
    const journal = this.#journal;
    if (journal === undefined) {
      this.router.pushInstructions(messages);
      return;
    }
    const live: Message[] = [];
    const ids = new Map<RecordDict, string>();
    for (const message of messages) {
      const id = ids.get(message.content) ?? contentId(message.content);
      ids.set(message.content, id);
      const key = journal.replay.key(message, id);
      if (journal.replay.take(key)) {
        const journaled = journal.store.load(key);
        const body = journaled.hasError() ? journaled.error : journaled.content;
        this.#box.put(new Message(body, { replyTo: message }));
        continue;
      }
      this.#sent.set(message.metadata.messageId, { key, node: message.metadata.dstNodeId });
      live.push(message);
    }
    journal.replay.check(
      live.map((m) => ({ node: `node ${m.metadata.dstNodeId}`, type: m.metadata.messageType })),
    );
    this.router.pushInstructions(live);
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    this.signal.throwIfAborted();
    const ids = messageIds instanceof Set ? (messageIds as Set<string>) : new Set(messageIds);
    const journaled = this.#box.take(ids);
    this.#pulledAt = this.router.repliesVersion;
    const replies = this.router.takeReplies(ids);
    for (const reply of replies) this.#record(reply);
    return [...journaled, ...replies];
  }

  protected async waitForReplies(ms: number): Promise<void> {
    await this.router.waitForReplies(ms, this.signal, this.#pulledAt);
    this.signal.throwIfAborted();
  }

  protected override noReply(instruction: Message): Message {
    const reply = super.noReply(instruction);
    this.#record(reply);
    return reply;
  }

  /** Journals a live message's reply as the ServerApp takes it. */
  #record(reply: Message): void {
    const sent = this.#sent.get(reply.metadata.replyToMessageId);
    if (sent === undefined || this.#journal === undefined) return;
    this.#sent.delete(reply.metadata.replyToMessageId);
    this.#journal.store.record(sent.key, sent.node, reply);
  }
}
