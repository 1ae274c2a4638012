import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageFromProto, messageToProto } from "../message/message-serde.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { type DeflatedObject, deflateMessage } from "../objects/deflate.ts";
import { inflateMessage, objectTreeOf } from "../objects/inflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import { RecordDict } from "../records/record-dict.ts";
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

  constructor(
    private readonly objects: ObjectStore,
    private readonly nodes: NodeRegistry,
  ) {
    nodes.onChange(() => this.#repliesChanged.notify());
  }

  /** Stores an instruction pushed by a ServerApp (its message id already set) and wakes its node. */
  pushInstruction(message: Message): void {
    const deflated = deflateMessage(message);
    this.objects.putDeflated(deflated, message.metadata.runId);
    const id = message.metadata.messageId;
    this.#instructions.set(id, {
      // Only the metadata is kept: the records live in the object store until the node has them.
      message: new Message(new RecordDict(), { metadata: message.metadata }),
      tree: objectTreeOf(deflated),
      size: treeSize(deflated),
      delivered: false,
      expiresAt: (message.metadata.createdAt + message.metadata.ttl) * 1000,
    });
    const dst = message.metadata.dstNodeId;
    this.#queues.set(dst, [...(this.#queues.get(dst) ?? []), id]);
    this.#nodeSignal(dst).notify();
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
    for (const pending of this.#pending.values()) {
      if (pending.nodeId === nodeId && pending.missing.delete(objectId))
        this.#checkComplete(pending.replyId);
    }
  }

  /**
   * Replies to these instructions that are complete, plus NODE_UNAVAILABLE for each whose
   * node has gone offline (missed its heartbeats) without replying.
   */
  takeReplies(instructionIds: Iterable<string>): Message[] {
    const out: Message[] = [];
    for (const id of instructionIds) {
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
