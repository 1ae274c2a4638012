/**
 * The SuperLink's instructions on their way to nodes: each waits in its node's queue until the
 * node pulls it (woken by an event, so a node gets work the moment it is queued), is delivered
 * once, and its objects stay in the store until the node confirms it has them all.
 */
import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Notifier } from "../../core/notifier.ts";
import {
  type Message as MessageProto,
  MessageSchema,
  type ObjectTree,
} from "../../gen/flwr/proto/message_pb.ts";
import { Message } from "../message/message.ts";
import { messageToProto } from "../message/message-serde.ts";
import { inflateMessage } from "../objects/inflate.ts";
import type { ObjectStore } from "../objects/object-store.ts";
import { RecordDict } from "../records/record-dict.ts";
import { NodeInstructions } from "./node-instructions.ts";

export interface QueuedInstruction {
  message: Message;
  tree: ObjectTree;
  /** Bytes of all its objects: small instructions may travel inline. */
  size: number;
  delivered: boolean;
  /** Unix ms when its TTL runs out. */
  expiresAt: number;
}

/** A message as it travels: metadata (and inline content), and its object tree. */
export interface WireMessage {
  message: MessageProto;
  tree: ObjectTree;
}

/** Live instructions by id, with each node's queue of them and a signal that wakes its pulls. */
export class InstructionQueue {
  readonly #instructions = new Map<string, QueuedInstruction>();
  readonly #queues = new Map<bigint, string[]>();
  readonly #nodeSignals = new Map<bigint, Notifier>();
  /** Live instructions by node, to find offline nodes' without a scan (see ofOfflineNodes). */
  readonly #byNode = new NodeInstructions();

  constructor(private readonly objects: ObjectStore) {}

  /** Queues an instruction whose objects are stored, and wakes its node. */
  add(message: Message, tree: ObjectTree, size: number, online: boolean): void {
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
    this.#byNode.add(dst, id, online);
    this.#queues.set(dst, [...(this.#queues.get(dst) ?? []), id]);
    this.#nodeSignal(dst).notify();
  }

  get(id: string): QueuedInstruction | undefined {
    return this.#instructions.get(id);
  }

  has(id: string): boolean {
    return this.#instructions.has(id);
  }

  /** All live instructions; deleting the current one while iterating is safe. */
  entries(): MapIterator<[string, QueuedInstruction]> {
    return this.#instructions.entries();
  }

  /** Forgets an instruction (a node's queue skips its id when it comes up). */
  delete(id: string): void {
    const dst = this.#instructions.get(id)?.message.metadata.dstNodeId;
    if (dst !== undefined) this.#byNode.delete(dst, id);
    this.#instructions.delete(id);
  }

  /** A node's status changed (the registry's onChange). */
  nodeChanged(node: bigint, online: boolean): void {
    this.#byNode.nodeChanged(node, online);
  }

  /** The live instructions of nodes that are offline. */
  ofOfflineNodes(): string[] {
    return this.#byNode.ofOfflineNodes();
  }

  /**
   * The next instruction for a node, waiting up to `waitMs` for one to be queued (a
   * long-poll within Flower's unary PullMessages). Each instruction is delivered once.
   */
  async pull(
    nodeId: bigint,
    waitMs: number,
    signal?: AbortSignal,
    inlineUpTo = 0,
  ): Promise<WireMessage | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const next = this.#takeNext(nodeId, inlineUpTo);
      if (next !== undefined || Date.now() >= deadline || signal?.aborted) return next;
      await this.#nodeSignal(nodeId).wait(deadline - Date.now(), signal);
    }
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

  #takeNext(nodeId: bigint, inlineUpTo: number): WireMessage | undefined {
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

  #nodeSignal(nodeId: bigint): Notifier {
    const existing = this.#nodeSignals.get(nodeId);
    if (existing !== undefined) return existing;
    const signal = new Notifier();
    this.#nodeSignals.set(nodeId, signal);
    return signal;
  }
}
