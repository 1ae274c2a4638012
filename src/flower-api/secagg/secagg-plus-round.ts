import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { createRng } from "../../core/numeric/random.ts";
import type { Grid } from "../app/grid.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import type { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord, type ConfigValue } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ConfigReader } from "./config-values.ts";
import { MaskedSum } from "./masked-sum.ts";
import { CONFIGS_KEY, Key, MASKED_KEY, Stage } from "./protocol.ts";
import {
  type ResolvedSecAggPlusOptions,
  type RoundParameters,
  roundParameters,
} from "./secagg-plus-options.ts";

export interface SecAggPlusRoundInput {
  grid: Grid;
  options: ResolvedSecAggPlusOptions;
  /** Counts the SecAgg+ rounds of the run; seeds the neighbour graph. */
  round: number;
  /** The strategy's train instructions, one per node. */
  instructions: readonly Message[];
  /** Seconds to wait for each stage's replies; undefined waits for the TTL. */
  timeout: number | undefined;
}

/** One node's progress through the round. */
interface Slot {
  /** The strategy's instruction, delivered at collect_masked_vectors. */
  instruction: Message;
  /** The last stage instruction sent to it, which an abort reply answers. */
  last: Message;
  /** Why it dropped out, as the error reply the strategy will get. */
  failure?: Message;
}

/**
 * Runs one SecAgg+ round (the server side of Flower's `SecAggPlusWorkflow`) with the nodes
 * of `instructions`, and answers each instruction as the strategy expects: a node whose
 * masked update is in the sum gets a reply with the securely aggregated (weighted-average)
 * arrays in place of its own, next to its own metrics; a node that dropped gets its error.
 * When too many nodes drop to unmask the sum, every node gets an error saying so, and the
 * strategy keeps its model for the round (Flower halts the round the same way).
 *
 * Stages: setup (public keys) → share_keys (encrypted shares, routed by the server) →
 * collect_masked_vectors (the app trains; masked updates) → unmask (shares of the surviving
 * nodes' self-mask seeds and of the dropped nodes' mask keys).
 */
export async function runSecAggPlusRound(input: SecAggPlusRoundInput): Promise<Message[]> {
  return new SecAggPlusRound(input).run();
}

class SecAggPlusRound {
  readonly #input: SecAggPlusRoundInput;
  readonly #slots = new Map<bigint, Slot>();
  readonly #neighbours = new Map<bigint, bigint[]>();
  readonly #publicKeys = new Map<bigint, { pk1: Uint8Array; pk2: Uint8Array }>();
  /** Encrypted shares to deliver to each node, and from whom (whose masks it adds). */
  readonly #forwarded = new Map<bigint, { srcs: bigint[]; ctxts: Uint8Array[] }>();
  /** The collect_masked_vectors reply of each node whose update is in the sum. */
  readonly #masked = new Map<bigint, Message>();
  #sum: MaskedSum | undefined;
  #aggregate: ArrayRecord | undefined;

  constructor(input: SecAggPlusRoundInput) {
    this.#input = input;
    for (const instruction of input.instructions) {
      const nid = instruction.metadata.dstNodeId;
      if (this.#slots.has(nid)) {
        throw new FedbridgeError(
          Code.InvalidArgument,
          `SecAgg+ takes one train instruction per node; node ${nid} has two`,
        );
      }
      this.#slots.set(nid, { instruction, last: instruction });
    }
  }

  async run(): Promise<Message[]> {
    const reason = await this.#stages();
    const log = (line: string) => this.#input.grid.observer.log(line);
    if (reason !== undefined) {
      log(`SecAgg+ round ${this.#input.round} aborted: ${reason}`);
      return this.#input.instructions.map((ins) => {
        const slot = this.#slot(ins.metadata.dstNodeId);
        return (
          slot.failure ??
          new Message(new MessageError(ErrorCode.UNKNOWN, `SecAgg+ round aborted: ${reason}`), {
            replyTo: slot.last,
          })
        );
      });
    }
    const dropped = this.#slots.size - this.#masked.size;
    log(
      `SecAgg+ round ${this.#input.round}: unmasked the sum of ${this.#masked.size} updates (${dropped} of ${this.#slots.size} nodes dropped)`,
    );
    return this.#input.instructions.map((ins) => {
      const nid = ins.metadata.dstNodeId;
      const masked = this.#masked.get(nid);
      if (masked === undefined || this.#aggregate === undefined || this.#sum === undefined)
        return this.#slot(nid).failure as Message;
      const own = [...masked.content].filter(([key]) => key !== MASKED_KEY && key !== CONFIGS_KEY);
      const content = new RecordDict([[this.#sum.layout.recordName, this.#aggregate], ...own]);
      return new Message(content, { metadata: masked.metadata });
    });
  }

  /** Runs the stages; returns why the round must be abandoned, if it must. */
  async #stages(): Promise<string | undefined> {
    const { options, round, grid } = this.#input;
    const nodes = [...this.#slots.keys()];
    const params = roundParameters(options, nodes.length);
    if (typeof params === "string") return params;
    this.#buildNeighbours(nodes, params.numShares);
    grid.observer.log(
      `SecAgg+ round ${round}: ${nodes.length} nodes, ${params.numShares} shares each, reconstructionThreshold ${params.threshold}`,
    );

    const s1 = await this.#exchange(
      Stage.SETUP,
      nodes,
      () => ({
        [Key.SAMPLE_NUMBER]: nodes.length,
        [Key.SHARE_NUMBER]: params.numShares,
        [Key.THRESHOLD]: params.threshold,
        [Key.CLIPPING_RANGE]: options.clippingRange,
        [Key.TARGET_RANGE]: options.quantizationRange,
        [Key.MOD_RANGE]: options.modulusRange,
        [Key.MAX_WEIGHT]: options.maxWeight,
        [Key.WEIGHT_KEY]: options.weightedByKey,
      }),
      (nid, r) => {
        const pk1 = r.bytes(Key.PUBLIC_KEY_1);
        const pk2 = r.bytes(Key.PUBLIC_KEY_2);
        if (pk1.length !== 32 || pk2.length !== 32)
          throw new TypeError("public keys have 32 bytes");
        this.#publicKeys.set(nid, { pk1, pk2 });
      },
    );
    let reason = this.#checkThreshold(Stage.SETUP, params, s1, (nid) => this.#among(nid, s1));
    if (reason !== undefined) return reason;

    const outgoing = new Map<bigint, { dsts: bigint[]; ctxts: Uint8Array[] }>();
    const s2 = await this.#exchange(
      Stage.SHARE_KEYS,
      s1,
      (nid) => {
        const neighbours = this.#among(nid, s1);
        const keys = neighbours.map(
          (n) => this.#publicKeys.get(n) as { pk1: Uint8Array; pk2: Uint8Array },
        );
        return {
          [Key.NODE_ID_LIST]: neighbours,
          [Key.PUBLIC_KEY_1_LIST]: keys.map((k) => k.pk1),
          [Key.PUBLIC_KEY_2_LIST]: keys.map((k) => k.pk2),
        };
      },
      (nid, r) => {
        const dsts = r.nodeIdList(Key.DESTINATION_LIST);
        const ctxts = r.bytesList(Key.CIPHERTEXT_LIST);
        const allowed = new Set(this.#among(nid, s1).filter((n) => n !== nid));
        if (dsts.length !== ctxts.length || new Set(dsts).size !== dsts.length)
          throw new TypeError("the destination and ciphertext lists do not match");
        if (dsts.some((d) => !allowed.has(d))) throw new TypeError("shares for a non-neighbour");
        outgoing.set(nid, { dsts, ctxts });
      },
    );
    reason = this.#checkThreshold(Stage.SHARE_KEYS, params, s2, (nid) => this.#among(nid, s2));
    if (reason !== undefined) return reason;

    // Route each ciphertext to its recipient; the server cannot read them.
    for (const nid of s2) this.#forwarded.set(nid, { srcs: [], ctxts: [] });
    for (const [src, { dsts, ctxts }] of outgoing) {
      if (!s2.has(src)) continue;
      dsts.forEach((dst, i) => {
        const box = this.#forwarded.get(dst);
        box?.srcs.push(src);
        box?.ctxts.push(ctxts[i] as Uint8Array);
      });
    }

    const s3 = await this.#exchange(
      Stage.COLLECT_MASKED_VECTORS,
      s2,
      (nid) => {
        const { srcs, ctxts } = this.#forwarded.get(nid) as { srcs: bigint[]; ctxts: Uint8Array[] };
        return { [Key.SOURCE_LIST]: srcs, [Key.CIPHERTEXT_LIST]: ctxts };
      },
      (nid, r, reply) => {
        this.#sum ??= new MaskedSum(options, params);
        this.#sum.add(nid, reply.content, r);
        this.#masked.set(nid, reply);
      },
    );
    // Every node of s2 has a secret to reconstruct: the seed if it sent its update, else its key.
    reason = this.#checkThreshold(Stage.COLLECT_MASKED_VECTORS, params, s2, (nid) =>
      this.#holders(nid, s3),
    );
    if (reason !== undefined) return reason;

    const shares = new Map<bigint, Uint8Array[]>([...s2].map((nid) => [nid, []]));
    await this.#exchange(
      Stage.UNMASK,
      s3,
      (nid) => {
        const { active, dead } = this.#askFor(nid, s2, s3);
        return { [Key.ACTIVE_NODE_ID_LIST]: active, [Key.DEAD_NODE_ID_LIST]: dead };
      },
      (nid, r) => {
        const { active, dead } = this.#askFor(nid, s2, s3);
        const owners = r.nodeIdList(Key.NODE_ID_LIST);
        const list = r.bytesList(Key.SHARE_LIST);
        const asked = [...active, ...dead];
        if (owners.length !== list.length || owners.some((o, i) => o !== asked[i]))
          throw new TypeError("the shares are not the ones asked for");
        for (const [i, owner] of owners.entries()) shares.get(owner)?.push(list[i] as Uint8Array);
      },
    );
    const sum = this.#sum as MaskedSum;
    const failure = sum.unmask(shares, s3, this.#forwarded, this.#publicKeys);
    if (typeof failure === "string") return failure;
    this.#aggregate = failure;
    return undefined;
  }

  /**
   * Sends one stage's instructions to `nodes` and parses the replies; returns the nodes that
   * answered well. A node that fails or answers badly drops out, its error kept for the
   * strategy.
   */
  async #exchange(
    stage: Stage,
    nodes: Iterable<bigint>,
    build: (nid: bigint) => Record<string, ConfigValue>,
    parse: (nid: bigint, configs: ConfigReader, reply: Message) => void,
  ): Promise<Set<bigint>> {
    const { grid, timeout } = this.#input;
    const messages = [...nodes].map((nid) => {
      const slot = this.#slot(nid);
      const { messageType, groupId, ttl } = slot.instruction.metadata;
      const configs = new ConfigRecord({ [Key.STAGE]: stage, ...build(nid) });
      const content =
        stage === Stage.COLLECT_MASKED_VECTORS
          ? new RecordDict([...slot.instruction.content, [CONFIGS_KEY, configs]])
          : new RecordDict({ [CONFIGS_KEY]: configs });
      slot.last = grid.createMessage(content, messageType, nid, groupId, ttl);
      return slot.last;
    });
    const replies = await grid.sendAndReceive(messages, timeout === undefined ? {} : { timeout });
    const ok = new Set<bigint>();
    replies.forEach((reply, i) => {
      const instruction = messages[i] as Message;
      const slot = this.#slot(instruction.metadata.dstNodeId);
      if (reply.hasError()) {
        slot.failure = new Message(
          new MessageError(reply.error.code, `SecAgg+ ${stage}: ${reply.error.reason}`),
          { metadata: reply.metadata },
        );
        return;
      }
      try {
        const configs = reply.content.configRecords.get(CONFIGS_KEY);
        if (configs === undefined) throw new TypeError(`no '${CONFIGS_KEY}' record`);
        parse(instruction.metadata.dstNodeId, new ConfigReader(configs, stage), reply);
        ok.add(instruction.metadata.dstNodeId);
      } catch (cause) {
        slot.failure = new Message(
          new MessageError(
            ErrorCode.UNKNOWN,
            `SecAgg+ ${stage}: malformed reply (${FedbridgeError.from(cause).message})`,
          ),
          { replyTo: instruction },
        );
      }
    });
    return ok;
  }

  /**
   * The ring of neighbours of SecAgg+: nodes in a shuffled ring, each with the numShares
   * nodes centred on it (itself included); with numShares ≥ nodes, everyone. The graph is
   * the server's to choose, so it is drawn from the run seed, reproducibly.
   */
  #buildNeighbours(nodes: readonly bigint[], numShares: number): void {
    const sorted = [...nodes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const seed = String(this.#input.grid.run.runConfig.seed ?? 0);
    const ring = createRng(seed, "secaggplus-neighbours", this.#input.round).shuffle(sorted);
    const half = numShares >> 1;
    ring.forEach((nid, i) => {
      const around =
        numShares >= ring.length
          ? ring
          : Array.from(
              { length: 2 * half + 1 },
              (_, k) => ring[(i + k - half + ring.length) % ring.length] as bigint,
            );
      this.#neighbours.set(nid, around);
    });
  }

  /** The neighbours of `nid` (itself included) that are in `alive`. */
  #among(nid: bigint, alive: ReadonlySet<bigint>): bigint[] {
    return (this.#neighbours.get(nid) ?? []).filter((n) => alive.has(n));
  }

  /** The nodes of `alive` that hold a share of `owner`'s secrets. */
  #holders(owner: bigint, alive: ReadonlySet<bigint>): bigint[] {
    return [...alive].filter(
      (nid) => nid === owner || this.#forwarded.get(nid)?.srcs.includes(owner),
    );
  }

  /** Whose seed shares (active) and key shares (dead) node `nid` is asked for. */
  #askFor(nid: bigint, s2: ReadonlySet<bigint>, s3: ReadonlySet<bigint>) {
    const held = [nid, ...(this.#forwarded.get(nid)?.srcs ?? [])];
    return {
      active: held.filter((n) => s3.has(n)),
      dead: held.filter((n) => s2.has(n) && !s3.has(n)),
    };
  }

  #checkThreshold(
    stage: Stage,
    params: RoundParameters,
    owners: ReadonlySet<bigint>,
    live: (nid: bigint) => readonly bigint[],
  ): string | undefined {
    const total = this.#slots.size;
    const failed = [...this.#slots.values()].filter((s) => s.failure !== undefined).length;
    const { threshold: t, numShares: k } = params;
    if (owners.size === 0)
      return `no node completed stage ${stage}; ${failed} of the ${total} nodes dropped`;
    for (const nid of owners) {
      const count = live(nid).length;
      if (count < t) {
        return `after stage ${stage}, node ${nid} has ${count} live neighbours (itself included), fewer than reconstructionThreshold ${t}: ${failed} of the ${total} nodes dropped, and at most numShares − reconstructionThreshold = ${k - t} may drop among a node's neighbours`;
      }
    }
    return undefined;
  }

  #slot(nid: bigint): Slot {
    return this.#slots.get(nid) as Slot;
  }
}
