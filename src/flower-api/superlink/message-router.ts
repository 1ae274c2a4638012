import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageFromProto, messageToProto, metadataFromProto } from "../message/message-serde.ts";
import { DEFAULT_TTL, SERVER_NODE_ID } from "../message/metadata.ts";
import { type DeflatedObject, deflateMessage, deflateMessages } from "../objects/deflate.ts";
import { inflateMessage, objectTreeOf, parseObject } from "../objects/inflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import { RecordDict } from "../records/record-dict.ts";
import { NodeInstructions } from "./node-instructions.ts";
import type { NodeRegistry } from "./node-registry.ts";

interface Instruction {
  message: Message;
  tree: ObjectTree;
  /** Bytes of all its objects: small instructions may travel inline. */
  size: number;
  delivered: boolean;
  /** Unix ms when its TTL runs out. */
  expiresAt: number;
}

interface PendingReply {
  /** The node that pushes it. */
  nodeId: bigint;
  instructionId: string;
  replyId: string;
  /** Objects of the reply's tree still to be pushed. */
  missing: Set<string>;
}

/** Flower's MESSAGE_TTL_TOLERANCE, in seconds. */
const TTL_TOLERANCE = 0.1;
/** Flower refuses replies created before this (2025-02-28). */
const MIN_CREATED_AT = 1_740_700_800;

/**
 * Routes messages through the SuperLink: instructions from ServerApps queue per node until
 * pulled; replies are complete once all their objects are pushed. Node pulls and grid waits
 * are woken by events, so a node gets work the moment it is queued.
 */
export class MessageRouter {
  readonly #instructions = new Map<string, Instruction>();
  readonly #queues = new Map<bigint, string[]>();
  readonly #nodeSignals = new Map<bigint, Notifier>();
  readonly #pending = new Map<string, PendingReply>();
  readonly #replies = new Map<string, string>(); // instruction id -> complete reply id
  readonly #repliesChanged = new Notifier();
  /** Live instructions by node, to find offline nodes' without a scan (see takeReplies). */
  readonly #byNode = new NodeInstructions();
  /** Instructions a ServerApp process pushed (ServerAppIo) whose objects are still coming. */
  readonly #uploading = new Map<
    string,
    { message: Message; tree: ObjectTree; missing: Set<string> }
  >();

  constructor(
    private readonly objects: ObjectStore,
    private readonly nodes: NodeRegistry,
  ) {
    nodes.onChange((node) => {
      this.#byNode.nodeChanged(node.nodeId, node.status === "online");
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
    const m = proto.metadata;
    const refuse = (why: string) =>
      new FedbridgeError(Code.InvalidArgument, `Malformed PushMessages: ${why}`);
    if (m === undefined || tree === undefined) throw refuse("a message without metadata or tree");
    if (m.runId !== runId) throw refuse("`Message.metadata` has mismatched `run_id`");
    if (m.messageId === "" || tree.objectId !== m.messageId)
      throw refuse("its message id is not the root of its object tree");
    if (m.srcNodeId !== SERVER_NODE_ID || m.dstNodeId === SERVER_NODE_ID)
      throw refuse("an instruction goes from node 1 to another node");
    if (m.replyToMessageId !== "") throw refuse("an instruction replies to nothing");
    if (m.messageType === "" || !(m.ttl > 0) || m.createdAt < MIN_CREATED_AT)
      throw refuse("message type, ttl and created_at must be set");
    if (this.#instructions.has(m.messageId) || this.#uploading.has(m.messageId))
      throw refuse(`message ${m.messageId} was pushed already`);
    const message = new Message(new RecordDict(), { metadata: metadataFromProto(m) });
    const missing = this.objects.preregister(runId, tree);
    if (missing.length === 0) this.#queue(message, tree);
    else this.#uploading.set(m.messageId, { message, tree, missing: new Set(missing) });
    return missing;
  }

  /**
   * Replies for a ServerApp process (ServerAppIo PullMessages), as metadata and object tree:
   * complete replies, and, made here as Flower's SuperLink does, an error reply for each
   * instruction whose node went offline or whose TTL ran out, or that is unknown. The reply's
   * objects stay until the process confirms it (ConfirmMessageReceived) or the run ends.
   */
  takeAppReplies(
    runId: bigint,
    instructionIds: Iterable<string>,
  ): { message: MessageProto; tree: ObjectTree }[] {
    const out: { message: MessageProto; tree: ObjectTree }[] = [];
    for (const id of instructionIds) {
      const state = this.#appReplyState(id);
      if (state === "waiting") continue;
      const replyId = this.#replies.get(id);
      if (replyId !== undefined) {
        const { body } = parseObject(this.objects.get(replyId).bytes as Uint8Array);
        const message = fromBinary(MessageSchema, body);
        if (message.metadata) message.metadata.messageId = replyId;
        message.content = undefined;
        out.push({ message, tree: this.objects.objectTree(replyId) as ObjectTree });
        this.#replies.delete(id);
      } else {
        const instruction = this.#instructions.get(id) ?? this.#uploading.get(id);
        const dst = instruction?.message.metadata.dstNodeId;
        const error =
          state === "offline"
            ? new MessageError(
                ErrorCode.NODE_UNAVAILABLE,
                `node ${dst} failed to report a heartbeat within 2 × its expected interval`,
              )
            : new MessageError(
                ErrorCode.MESSAGE_UNAVAILABLE,
                `message ${id} is unknown here or its TTL ran out before a reply came`,
              );
        const reply = instruction
          ? new Message(error, { replyTo: instruction.message })
          : new Message(error, {
              metadata: {
                runId,
                messageId: "",
                srcNodeId: SERVER_NODE_ID,
                dstNodeId: SERVER_NODE_ID,
                replyToMessageId: id,
                groupId: "",
                ttl: DEFAULT_TTL,
                messageType: "",
                createdAt: Date.now() / 1000,
              },
            });
        const deflated = deflateMessage(reply);
        this.objects.putDeflated(deflated, runId);
        const message = messageToProto(reply);
        if (message.metadata) message.metadata.messageId = deflated.id;
        out.push({ message, tree: objectTreeOf(deflated) });
      }
      this.#uploading.delete(id);
      const dst = this.#instructions.get(id)?.message.metadata.dstNodeId;
      if (dst !== undefined) this.#byNode.delete(dst, id);
      this.#instructions.delete(id);
      this.objects.delete(id);
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

  #queue(message: Message, tree: ObjectTree, size = this.#storedSize(tree)): void {
    const id = message.metadata.messageId;
    this.#instructions.set(id, {
      // Only the metadata is kept: the records live in the object store until the node has them.
      message: new Message(new RecordDict(), { metadata: message.metadata }),
      tree,
      size,
      delivered: false,
      expiresAt: (message.metadata.createdAt + message.metadata.ttl) * 1000,
    });
    const dst = message.metadata.dstNodeId;
    this.#byNode.add(dst, id, this.nodes.isOnline(dst));
    this.#queues.set(dst, [...(this.#queues.get(dst) ?? []), id]);
    this.#nodeSignal(dst).notify();
  }

  /** Bytes of a stored tree, each object counted once. */
  #storedSize(tree: ObjectTree, seen = new Set<string>()): number {
    if (seen.has(tree.objectId)) return 0;
    seen.add(tree.objectId);
    const own = this.objects.get(tree.objectId).bytes?.length ?? 0;
    return own + tree.children.reduce((sum, child) => sum + this.#storedSize(child, seen), 0);
  }

  /**
   * The next instruction for a node, waiting up to `waitMs` for one to be queued (a
   * long-poll within Flower's unary PullMessages). Each instruction is delivered once.
   */
  async pullInstruction(
    nodeId: bigint,
    waitMs: number,
    signal?: AbortSignal,
    inlineUpTo = 0,
  ): Promise<{ message: MessageProto; tree: ObjectTree } | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const next = this.#takeNext(nodeId, inlineUpTo);
      if (next !== undefined || Date.now() >= deadline || signal?.aborted) return next;
      await this.#nodeSignal(nodeId).wait(deadline - Date.now(), signal);
    }
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
    const m = proto.metadata;
    const refuse = (why: string) =>
      new FedbridgeError(Code.InvalidArgument, `reply refused: ${why}`);
    if (m === undefined || tree === undefined) throw refuse("it has no metadata or no object tree");
    if (m.messageId === "" || tree.objectId !== m.messageId)
      throw refuse("its message id is not the root of its object tree");
    const instruction = this.#instructions.get(m.replyToMessageId);
    if (instruction === undefined)
      throw refuse(`no instruction ${m.replyToMessageId || "(empty)"} is waiting for it`);
    const ins = instruction.message.metadata;
    if (m.srcNodeId !== nodeId || ins.dstNodeId !== nodeId)
      throw refuse("it does not come from the node the instruction was sent to");
    if (m.dstNodeId !== SERVER_NODE_ID || m.runId !== ins.runId)
      throw refuse("wrong destination or run");
    if (m.messageType !== ins.messageType)
      throw refuse("its message type differs from the instruction's");
    if (m.createdAt < MIN_CREATED_AT || !(m.ttl > 0)) throw refuse("bad created_at or ttl");
    if (m.ttl > ins.createdAt + ins.ttl - m.createdAt + TTL_TOLERANCE)
      throw refuse("its ttl outlives the instruction");
    if (Date.now() > instruction.expiresAt) throw refuse("the instruction has expired");
    if ((proto.content !== undefined) === (proto.error !== undefined))
      throw refuse("it must carry content or an error, not both or neither");
    if (inline) {
      // The node sent the records with the message: its content must hash to the reply's id.
      const deflated = deflateMessage(messageFromProto(proto));
      if (deflated.id !== m.messageId)
        throw refuse("its inline content does not match its message id");
      this.objects.putDeflated(deflated, ins.runId);
      this.#pending.set(m.messageId, {
        nodeId,
        instructionId: m.replyToMessageId,
        replyId: m.messageId,
        missing: new Set(),
      });
      this.#checkComplete(m.messageId);
      return [];
    }
    const missing = this.objects.preregister(ins.runId, tree);
    this.#pending.set(m.messageId, {
      nodeId,
      instructionId: m.replyToMessageId,
      replyId: m.messageId,
      missing: new Set(missing),
    });
    this.#checkComplete(m.messageId);
    return missing;
  }

  /**
   * A node has all objects of an instruction (Flower's ConfirmMessageReceived): they are
   * dropped from the store (shared ones stay while another message needs them), so a large
   * model is held only while some node still has to fetch it.
   */
  confirmReceived(nodeId: bigint, messageId: string): void {
    const instruction = this.#instructions.get(messageId);
    if (
      instruction === undefined ||
      !instruction.delivered ||
      instruction.message.metadata.dstNodeId !== nodeId
    ) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        `no instruction ${messageId} was delivered to node ${nodeId}`,
      );
    }
    this.objects.delete(messageId);
  }

  /**
   * Tells the router a node pushed an object (after the store accepted it). Only that node's
   * replies count it as arrived: another node's reply that shares the object (equal metrics,
   * equal arrays) completes when its own node has pushed it. Were it completed early, the
   * ServerApp could consume it and the store drop its objects while its node is still pushing
   * them, and the node would be told they were not stored.
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
    for (const pending of this.#pending.values()) {
      if (pending.nodeId === nodeId && pending.missing.delete(objectId))
        this.#checkComplete(pending.replyId);
    }
  }

  /**
   * Replies to these instructions that are complete, plus NODE_UNAVAILABLE for each whose
   * node has gone offline (missed its heartbeats) without replying. Only the instructions that
   * can be answered are looked at, not every one asked about: pass a Set to spare a copy.
   */
  takeReplies(instructionIds: Iterable<string>): Message[] {
    const wanted = instructionIds instanceof Set ? instructionIds : new Set(instructionIds);
    const out: Message[] = [];
    const answerable = [...this.#replies.keys(), ...this.#byNode.ofOfflineNodes()];
    for (const id of answerable) {
      if (!wanted.has(id)) continue;
      const instruction = this.#instructions.get(id);
      const replyId = this.#replies.get(id);
      if (instruction === undefined) continue;
      if (replyId !== undefined) {
        out.push(inflateMessage(replyId, (objectId) => this.objects.get(objectId).bytes));
      } else if (!this.nodes.isOnline(instruction.message.metadata.dstNodeId)) {
        const reason = `node ${instruction.message.metadata.dstNodeId} failed to report a heartbeat within 2 × its expected interval`;
        out.push(
          new Message(new MessageError(ErrorCode.NODE_UNAVAILABLE, reason), {
            replyTo: instruction.message,
          }),
        );
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
    for (const [id, instruction] of this.#instructions) {
      if (instruction.message.metadata.runId === runId) this.#forget(id, this.#replies.get(id));
    }
    for (const [id, uploading] of this.#uploading) {
      if (uploading.message.metadata.runId === runId) this.#uploading.delete(id);
    }
    this.objects.deleteRun(runId);
  }

  #takeNext(
    nodeId: bigint,
    inlineUpTo: number,
  ): { message: MessageProto; tree: ObjectTree } | undefined {
    const queue = this.#queues.get(nodeId) ?? [];
    while (queue.length > 0) {
      const id = queue.shift() as string;
      const instruction = this.#instructions.get(id);
      if (instruction === undefined || instruction.delivered) continue;
      if (Date.now() > instruction.expiresAt) continue; // expired: the grid reports it
      instruction.delivered = true;
      if (instruction.size <= inlineUpTo) {
        // A node that asked for it gets a small message whole, and needs no object pulls.
        const whole = inflateMessage(id, (objectId) => this.objects.get(objectId).bytes);
        this.objects.delete(id);
        return { message: messageToProto(whole), tree: instruction.tree };
      }
      // The records travel as objects; the message itself carries an empty content, as Flower's does.
      const message = create(MessageSchema, {
        metadata: { ...instruction.message.metadata },
        content: {},
      });
      return { message, tree: instruction.tree };
    }
    return undefined;
  }

  #checkComplete(replyId: string): void {
    const pending = this.#pending.get(replyId);
    if (pending === undefined || pending.missing.size > 0) return;
    this.#pending.delete(replyId);
    this.#replies.set(pending.instructionId, replyId);
    this.#repliesChanged.notify();
  }

  #forget(instructionId: string, replyId: string | undefined): void {
    const dst = this.#instructions.get(instructionId)?.message.metadata.dstNodeId;
    if (dst !== undefined) this.#byNode.delete(dst, instructionId);
    this.#instructions.delete(instructionId);
    this.#replies.delete(instructionId);
    if (replyId !== undefined) this.objects.delete(replyId);
    this.objects.delete(instructionId);
  }

  #nodeSignal(nodeId: bigint): Notifier {
    const existing = this.#nodeSignals.get(nodeId);
    if (existing !== undefined) return existing;
    const signal = new Notifier();
    this.#nodeSignals.set(nodeId, signal);
    return signal;
  }
}

/** Bytes of a deflated tree, each object counted once. */
function treeSize(root: DeflatedObject, seen = new Set<string>()): number {
  if (seen.has(root.id)) return 0;
  seen.add(root.id);
  return root.bytes.length + root.children.reduce((sum, child) => sum + treeSize(child, seen), 0);
}
