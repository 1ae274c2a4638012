import type { Controller } from "../flare-runtime/controller/controller.ts";
import { ReturnCode, type TaskResult } from "../flare-runtime/controller/task.ts";
import { BaseGrid, type RunInfo } from "../flower-api/app/grid.ts";
import { contentId, type Replay } from "../flower-api/app/replay.ts";
import { ReplyBox } from "../flower-api/app/reply-box.ts";
import type { RunObserver } from "../flower-api/app/run-observer.ts";
import { ErrorCode, MessageError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import type { RecordDict } from "../flower-api/records/record-dict.ts";
import { MESSAGE_TASK, messagesToTask, replyFromShareable } from "./message-task.ts";
import type { ReplyJournal } from "./reply-journal.ts";
import type { SiteNode } from "./site-nodes.ts";
import { failedTaskReply } from "./task-failure.ts";

/** The job's reply journal and the replay of the ServerApp against it. */
export interface GridJournal {
  store: ReplyJournal;
  replay: Replay;
}

/** A live message whose reply the journal records once the ServerApp takes it. */
interface Sent {
  key: string;
  site: string;
  /** What its reply was, once it came: a stashed result file, or a failure. */
  reply?: { file: string } | { code: number; reason: string };
}

/**
 * The Grid of a Flower-style ServerApp running as a runtime job: messages become controller
 * tasks to the sites behind the nodes, carried by the runtime (cells, filters, timeouts), and
 * each site's result comes back as the Flower reply. Messages pushed together that share their
 * content (the strategy's one model for every node) become one task, sent once to all their
 * sites. A site that fails a task gives an error reply (task-failure.ts), so the strategy's
 * failure handling applies. With a journal, every reply the ServerApp takes is recorded, and a
 * message the journal already answered (a resumed job) is answered from there, not sent.
 */
export class RuntimeGrid extends BaseGrid {
  override readonly fixedNodes: string;
  readonly #nodes: ReadonlyMap<bigint, SiteNode>;
  readonly #box = new ReplyBox();
  readonly #journal: GridJournal | undefined;
  /** Live messages by instruction id, while their replies are not taken. */
  readonly #sent = new Map<string, Sent>();
  /**
   * Instructions the ServerApp stopped waiting for (their phase timed out) whose task is still
   * open: a result that comes for one later is dropped, not kept in the box for no one.
   */
  readonly #abandoned = new Set<string>();
  /** Instructions whose task is open: sent to their site, no result yet. */
  readonly #tasks = new Set<string>();

  constructor(
    run: RunInfo,
    observer: RunObserver,
    nodes: readonly SiteNode[],
    private readonly controller: Controller,
    journal?: GridJournal,
  ) {
    super(run, observer);
    this.#nodes = new Map(nodes.map((node) => [node.nodeId, node]));
    this.#journal = journal;
    const sites = nodes.map((node) => node.site);
    this.fixedNodes = `the job runs at ${sites.length} site${sites.length === 1 ? "" : "s"} (${sites.join(", ")})`;
  }

  /** Whether the ServerApp is still being answered from the journal alone. */
  get replaying(): boolean {
    return this.#journal?.replay.replaying ?? false;
  }

  async getNodeIds(): Promise<bigint[]> {
    return [...this.#nodes.keys()];
  }

  nodeName(nodeId: bigint): string {
    return this.#nodes.get(nodeId)?.site ?? `node ${nodeId}`;
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    const replies = this.#box.take(messageIds);
    for (const reply of replies) this.#record(reply.metadata.replyToMessageId);
    return replies;
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }

  protected override noReply(instruction: Message): Message {
    const reply = super.noReply(instruction);
    const sent = this.#sent.get(instruction.metadata.messageId);
    if (sent !== undefined) sent.reply = { code: reply.error.code, reason: reply.error.reason };
    this.#record(instruction.metadata.messageId);
    if (this.#tasks.has(instruction.metadata.messageId))
      this.#abandoned.add(instruction.metadata.messageId);
    return reply;
  }

  /** One task per distinct content, each to the sites of its messages. */
  protected async deliver(messages: readonly Message[]): Promise<void> {
    const byContent = new Map<RecordDict, { site: string; message: Message; key?: string }[]>();
    const ids = new Map<RecordDict, string>();
    const live: { node: string; type: string }[] = [];
    for (const message of messages) {
      const node = this.#nodes.get(message.metadata.dstNodeId);
      if (node === undefined) {
        const reason = `node ${message.metadata.dstNodeId} is not a site of this job`;
        this.#box.put(
          new Message(new MessageError(ErrorCode.NODE_UNAVAILABLE, reason), { replyTo: message }),
        );
        continue;
      }
      let key: string | undefined;
      if (this.#journal !== undefined) {
        const id = ids.get(message.content) ?? contentId(message.content);
        ids.set(message.content, id);
        key = this.#journal.replay.key(message, id);
        if (this.#journal.replay.take(key)) {
          await this.#answerFromJournal(message, key);
          continue;
        }
        this.#sent.set(message.metadata.messageId, { key, site: node.site });
      }
      live.push({ node: node.site, type: message.metadata.messageType });
      const group = byContent.get(message.content) ?? [];
      group.push({ site: node.site, message, ...(key === undefined ? {} : { key }) });
      byContent.set(message.content, group);
    }
    this.#journal?.replay.check(live);
    for (const group of byContent.values()) this.#send(group);
  }

  async #answerFromJournal(instruction: Message, key: string): Promise<void> {
    const journaled = await (this.#journal as GridJournal).store.load(key);
    const body =
      journaled.kind === "failure"
        ? new MessageError(journaled.code, journaled.reason)
        : replyBody(replyFromShareable(journaled.shareable));
    this.#box.put(new Message(body, { replyTo: instruction }));
  }

  #send(group: { site: string; message: Message; key?: string }[]): void {
    const bySite = new Map(group.map(({ site, message }) => [site, message]));
    for (const { message } of group) this.#tasks.add(message.metadata.messageId);
    const settle = async (result: TaskResult) => {
      const instruction = bySite.get(result.site);
      if (instruction === undefined) return;
      bySite.delete(result.site);
      const id = instruction.metadata.messageId;
      if (this.#dropIfAbandoned(id, result.site)) return;
      const sent = this.#sent.get(id);
      let reply: Message;
      try {
        if (result.code !== ReturnCode.OK) reply = failedTaskReply(instruction, result);
        else {
          const stashed = sent && (await this.#journalOf().stash(result));
          if (sent && stashed) sent.reply = { file: stashed.file };
          const shareable = stashed?.shareable ?? (await result.read());
          reply = replyTo(instruction, replyFromShareable(shareable));
        }
      } catch (error) {
        reply = failedTaskReply(instruction, {
          ...result,
          code: ReturnCode.ERROR,
          message: String(error),
        });
      }
      if (sent !== undefined && reply.hasError())
        sent.reply = { code: reply.error.code, reason: reply.error.reason };
      // The phase may have timed out while the result was read.
      if (!this.#dropIfAbandoned(id, result.site)) this.#box.put(reply);
      this.#tasks.delete(id);
    };
    const timeout = Math.max(1, Math.ceil(Math.min(...group.map((g) => g.message.remainingTtl()))));
    // A message's journal key is its task's key at its site: a site given the message again
    // (this server restarted before its reply was journaled) answers with the reply it had.
    const keys = Object.fromEntries(group.flatMap(({ site, key }) => (key ? [[site, key]] : [])));
    const { data, siteMeta } = messagesToTask(group);
    void this.controller
      .broadcastAndWait(
        { name: MESSAGE_TASK, data, timeout, keys, siteMeta },
        { targets: [...bySite.keys()], onResult: settle },
      )
      .then((results) => Promise.all(results.map(settle)));
  }

  /** Whether the ServerApp stopped waiting for this reply; if so, it is dropped and logged. */
  #dropIfAbandoned(instructionId: string, site: string): boolean {
    if (!this.#abandoned.delete(instructionId)) return false;
    this.#tasks.delete(instructionId);
    this.controller.log(
      `${site}: a result that came after its phase's timeout is dropped (the ServerApp counted it as no reply)`,
    );
    return true;
  }

  /** Records, once the ServerApp takes it, the reply to a live message. */
  #record(instructionId: string): void {
    const sent = this.#sent.get(instructionId);
    if (sent?.reply === undefined || this.#journal === undefined) return;
    this.#sent.delete(instructionId);
    this.#journal.store.record(sent.key, sent.site, sent.reply);
  }

  #journalOf(): ReplyJournal {
    return (this.#journal as GridJournal).store;
  }
}

/**
 * A site's reply as the reply to `instruction`: a reply the site had kept from before this
 * server restarted answers the message as it was first sent (its id changed with its creation
 * time).
 */
function replyTo(instruction: Message, reply: Message): Message {
  if (reply.metadata.replyToMessageId === instruction.metadata.messageId) return reply;
  return new Message(replyBody(reply), { replyTo: instruction });
}

/** What a reply carries: its content, or its error. */
function replyBody(reply: Message): RecordDict | MessageError {
  return reply.hasError() ? reply.error : reply.content;
}
