/**
 * The SuperLink's message routing, the one object its servicers and grids share: instructions
 * in from ServerApps (in-process or over ServerAppIo), out to nodes (Fleet API), and replies
 * back. The queueing, the checks, the reply assembly and the error replies live in their own
 * files; this one ties them to the object store and the node registry.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Notifier } from "../../core/notifier.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import { Message } from "../message/message.ts";
import { messageToProto, metadataFromProto } from "../message/message-serde.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { deflateMessage, deflateMessages } from "../objects/deflate.ts";
import { inflateMessage, objectTreeOf, parseObject } from "../objects/inflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import { RecordDict } from "../records/record-dict.ts";
import { appErrorReply, nodeUnavailableReply } from "./error-replies.ts";
import { InstructionQueue, type WireMessage } from "./instruction-queue.ts";
import { checkAppInstruction, checkReply } from "./message-checks.ts";
import type { NodeRegistry } from "./node-registry.ts";
import { PendingReplies } from "./pending-replies.ts";
import { storedSize, treeSize } from "./tree-size.ts";

/**
 * Routes messages through the SuperLink: instructions from ServerApps queue per node until
 * pulled; replies are complete once all their objects are pushed. Node pulls and grid waits
 * are woken by events, so a node gets work the moment it is queued.
 */
export class MessageRouter {
  readonly #instructions: InstructionQueue;
  readonly #repliesChanged = new Notifier();
  readonly #replies = new PendingReplies(() => this.#repliesChanged.notify());
  /** Instructions a ServerApp process pushed (ServerAppIo) whose objects are still coming. */
  readonly #uploading = new Map<
    string,
    { message: Message; tree: ObjectTree; missing: Set<string> }
  >();

  constructor(
    private readonly objects: ObjectStore,
    private readonly nodes: NodeRegistry,
  ) {
    this.#instructions = new InstructionQueue(objects);
    nodes.onChange((node) => {
      this.#instructions.nodeChanged(node.nodeId, node.status === "online");
      this.#repliesChanged.notify();
    });
  }

  /** Stores an instruction pushed by a ServerApp (its message id already set) and wakes its node. */
  pushInstruction(message: Message): void {
    this.pushInstructions([message]);
  }

  /**
   * Stores instructions pushed by a ServerApp (their message ids already set) and wakes their
   * nodes; a content they share is deflated once.
   */
  pushInstructions(messages: readonly Message[]): void {
    deflateMessages(messages).forEach((deflated, i) => {
      const message = messages[i] as Message;
      this.objects.putDeflated(deflated, message.metadata.runId);
      this.#queue(message, objectTreeOf(deflated), treeSize(deflated));
    });
  }

  /**
   * Takes an instruction as a ServerApp process pushes it over ServerAppIo (metadata and
   * object tree; the records follow as objects), checked as Flower's validator does. It is
   * queued for its node once every object is stored. Returns the ids still to be pushed.
   */
  pushAppInstruction(runId: bigint, proto: MessageProto, tree: ObjectTree | undefined): string[] {
    const { metadata: m, tree: root } = checkAppInstruction(
      runId,
      proto,
      tree,
      (id) => this.#instructions.has(id) || this.#uploading.has(id),
    );
    const message = new Message(new RecordDict(), { metadata: metadataFromProto(m) });
    const missing = this.objects.preregister(runId, root);
    if (missing.length === 0) this.#queue(message, root);
    else this.#uploading.set(m.messageId, { message, tree: root, missing: new Set(missing) });
    return missing;
  }

  /**
   * Replies for a ServerApp process (ServerAppIo PullMessages), as metadata and object tree:
   * complete replies, and, made here as Flower's SuperLink does, an error reply for each
   * instruction whose node went offline or whose TTL ran out, or that is unknown. The reply's
   * objects stay until the process confirms it (ConfirmMessageReceived) or the run ends.
   */
  takeAppReplies(runId: bigint, instructionIds: Iterable<string>): WireMessage[] {
    const out: WireMessage[] = [];
    for (const id of instructionIds) {
      const state = this.#appReplyState(id);
      if (state === "waiting") continue;
      const replyId = this.#replies.replyTo(id);
      if (replyId !== undefined) {
        const { body } = parseObject(this.objects.get(replyId).bytes as Uint8Array);
        const message = fromBinary(MessageSchema, body);
        if (message.metadata) message.metadata.messageId = replyId;
        message.content = undefined;
        out.push({ message, tree: this.objects.objectTree(replyId) as ObjectTree });
        this.#replies.delete(id);
      } else {
        const instruction = this.#instructions.get(id) ?? this.#uploading.get(id);
        const reply = appErrorReply(runId, id, instruction?.message, state === "offline");
        const deflated = deflateMessage(reply);
        this.objects.putDeflated(deflated, runId);
        const message = messageToProto(reply);
        if (message.metadata) message.metadata.messageId = deflated.id;
        out.push({ message, tree: objectTreeOf(deflated) });
      }
      this.#uploading.delete(id);
      // Its reply's objects stay (see above): only the instruction's are dropped.
      this.#forget(id, undefined);
    }
    return out;
  }

  /**
   * Resolves once every one of these instructions can be answered (a reply, or an error
   * reply), after `ms`, or when `signal` aborts: the long-poll behind ServerAppIo's
   * PullMessages, so a Python ServerApp gets its replies the moment the last one lands.
   */
  async waitForAppReplies(ids: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const since = this.#repliesChanged.version;
      if (ids.every((id) => this.#appReplyState(id) !== "waiting")) return;
      if (Date.now() >= deadline || signal?.aborted) return;
      await this.#repliesChanged.wait(deadline - Date.now(), signal, since);
    }
  }

  #appReplyState(id: string): "reply" | "offline" | "unavailable" | "waiting" {
    if (this.#replies.has(id)) return "reply";
    const instruction = this.#instructions.get(id) ?? this.#uploading.get(id);
    if (instruction === undefined) return "unavailable";
    const m = instruction.message.metadata;
    if (Date.now() > (m.createdAt + m.ttl) * 1000) return "unavailable";
    return this.nodes.isOnline(m.dstNodeId) ? "waiting" : "offline";
  }

  #queue(message: Message, tree: ObjectTree, size = storedSize(this.objects, tree)): void {
    const online = this.nodes.isOnline(message.metadata.dstNodeId);
    this.#instructions.add(message, tree, size, online);
  }

  /**
   * The next instruction for a node, waiting up to `waitMs` for one to be queued (a
   * long-poll within Flower's unary PullMessages). Each instruction is delivered once.
   */
  pullInstruction(
    nodeId: bigint,
    waitMs: number,
    signal?: AbortSignal,
    inlineUpTo = 0,
  ): Promise<WireMessage | undefined> {
    return this.#instructions.pull(nodeId, waitMs, signal, inlineUpTo);
  }

  /**
   * Takes a node's reply, checked as Flower's validator does; returns the ids of the
   * objects the node must push before the reply counts as received.
   */
  pushReply(
    nodeId: bigint,
    proto: MessageProto,
    tree: ObjectTree | undefined,
    inline = false,
  ): string[] {
    const checked = checkReply(nodeId, proto, tree, inline, (id) => this.#instructions.get(id));
    const { metadata: m, inline: whole } = checked;
    const runId = checked.instruction.message.metadata.runId;
    let missing: string[] = [];
    if (whole !== undefined) this.objects.putDeflated(whole.deflated, runId);
    else missing = this.objects.preregister(runId, checked.tree);
    this.#replies.expect({
      nodeId,
      instructionId: m.replyToMessageId,
      replyId: m.messageId,
      missing: new Set(missing),
      ...(whole ? { message: whole.message } : {}),
    });
    return missing;
  }

  /**
   * A node has all objects of an instruction (Flower's ConfirmMessageReceived): they are
   * dropped from the store (shared ones stay while another message needs them), so a large
   * model is held only while some node still has to fetch it.
   */
  confirmReceived(nodeId: bigint, messageId: string): void {
    this.#instructions.confirmReceived(nodeId, messageId);
  }

  /**
   * Tells the router a node pushed an object (after the store accepted it): it may complete
   * that node's replies (see PendingReplies.objectStored), or, from the server's node, an
   * instruction a ServerApp process is uploading, which is then queued for its node.
   */
  objectStored(nodeId: bigint, objectId: string): void {
    if (nodeId === SERVER_NODE_ID) {
      for (const [id, uploading] of this.#uploading) {
        if (uploading.missing.delete(objectId) && uploading.missing.size === 0) {
          this.#uploading.delete(id);
          this.#queue(uploading.message, uploading.tree);
        }
      }
      return;
    }
    this.#replies.objectStored(nodeId, objectId);
  }

  /**
   * Replies to these instructions that are complete, plus NODE_UNAVAILABLE for each whose
   * node has gone offline (missed its heartbeats) without replying. Only the instructions that
   * can be answered are looked at, not every one asked about: pass a Set to spare a copy.
   */
  takeReplies(instructionIds: Iterable<string>): Message[] {
    const wanted = instructionIds instanceof Set ? instructionIds : new Set(instructionIds);
    const out: Message[] = [];
    const answerable = [...this.#replies.answered(), ...this.#instructions.ofOfflineNodes()];
    for (const id of answerable) {
      if (!wanted.has(id)) continue;
      const instruction = this.#instructions.get(id);
      const replyId = this.#replies.replyTo(id);
      if (instruction === undefined) continue;
      if (replyId !== undefined) {
        // A reply sent whole is the message its node sent; one pushed as objects is inflated.
        const whole = this.#replies.inlineReply(id);
        out.push(whole ?? inflateMessage(replyId, (objectId) => this.objects.get(objectId).bytes));
      } else if (!this.nodes.isOnline(instruction.message.metadata.dstNodeId)) {
        out.push(nodeUnavailableReply(instruction.message));
      } else {
        continue;
      }
      this.#forget(id, replyId);
    }
    return out;
  }

  /** Counts reply completions and node changes: pass it to `waitForReplies` as `since`. */
  get repliesVersion(): number {
    return this.#repliesChanged.version;
  }

  /**
   * Resolves when a reply completes or a node changes state, or after `ms`; at once if that
   * happened after `since` (read `repliesVersion` before `takeReplies`, so a reply completing
   * between the take and the wait is not slept through).
   */
  waitForReplies(ms: number, signal?: AbortSignal, since?: number): Promise<void> {
    return this.#repliesChanged.wait(ms, signal, since);
  }

  /** Drops everything of a run (stopped or finished). */
  dropRun(runId: bigint): void {
    for (const [id, instruction] of this.#instructions.entries()) {
      if (instruction.message.metadata.runId === runId) this.#forget(id, this.#replies.replyTo(id));
    }
    for (const [id, uploading] of this.#uploading) {
      if (uploading.message.metadata.runId === runId) this.#uploading.delete(id);
    }
    this.objects.deleteRun(runId);
  }

  #forget(instructionId: string, replyId: string | undefined): void {
    this.#instructions.delete(instructionId);
    this.#replies.delete(instructionId);
    if (replyId !== undefined) this.objects.delete(replyId);
    this.objects.delete(instructionId);
  }
}
