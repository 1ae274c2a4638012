import { randomBytes } from "node:crypto";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Context } from "../app/context.ts";
import type { ClientAppCallable, Mod } from "../app/mod.ts";
import { Message } from "../message/message.ts";
import { MessageType, parseMessageType } from "../message/message-type.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ConfigReader } from "./config-values.ts";
import { agreeKey, generateKeyPair } from "./key-agreement.ts";
import { addMask, expandMask, reduceModulo } from "./mask.ts";
import { clearNodeState, loadNodeState, type NodeState, saveNodeState } from "./node-state.ts";
import {
  CONFIGS_KEY,
  Key,
  MASKED_KEY,
  pairwiseSign,
  STAGES,
  Stage,
  shareAssociatedData,
} from "./protocol.ts";
import { quantizeUpdate } from "./quantization.ts";
import { createShares } from "./shamir.ts";
import { decryptShare, encryptShare } from "./share-encryption.ts";

/**
 * The node side of SecAgg+, as Flower's `secaggplus_mod`, for the message API. It runs each
 * stage of a train round that `SecAggPlusGrid` drives: makes key pairs (setup), secret-shares
 * its self-mask seed and mask key to its neighbours, encrypted for each (share_keys), calls
 * the app's train handler and sends its update weighted, quantized and masked
 * (collect_masked_vectors), and returns the shares the server needs to remove the masks
 * (unmask). The server learns only the sum of the updates.
 *
 * A train instruction without SecAgg+ stage data is refused, so a node never sends its plain
 * update; other messages (evaluate, query) pass through unchanged.
 *
 * @example
 * export const app = new ClientApp({ mods: [secaggPlusMod] });
 */
export const secaggPlusMod: Mod = async (message, context, callNext) => {
  if (parseMessageType(message.metadata.messageType)?.category !== MessageType.TRAIN) {
    return callNext(message, context);
  }
  const configs = message.content.configRecords.get(CONFIGS_KEY);
  if (configs === undefined) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      "secaggPlusMod: this node sends its update only through SecAgg+, and the train instruction has no SecAgg+ stage (wrap the ServerApp's grid in SecAggPlusGrid)",
    );
  }
  const stage = new ConfigReader(configs, "instruction").string(Key.STAGE) as Stage;
  const state = loadNodeState(context);
  checkNextStage(state?.stage, stage);
  const reader = new ConfigReader(configs, stage);
  if (stage === Stage.SETUP) return setup(message, context, reader);
  if (state === undefined) throw new FedbridgeError(Code.Internal, "SecAgg+ state lost");
  if (stage === Stage.SHARE_KEYS) return shareKeys(message, context, reader, state);
  if (stage === Stage.COLLECT_MASKED_VECTORS)
    return collectMaskedVectors(message, context, callNext, reader, state);
  return unmask(message, context, reader, state);
};

/** Setup may always (re)start a round; any other stage must follow the last one done. */
function checkNextStage(done: Stage | undefined, next: Stage): void {
  if (!STAGES.includes(next)) {
    throw new FedbridgeError(Code.InvalidArgument, `SecAgg+: unknown stage '${next}'`);
  }
  if (next === Stage.SETUP) return;
  const expected = STAGES[(STAGES.indexOf(done ?? Stage.UNMASK) + 1) % STAGES.length];
  if (next !== expected) {
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `SecAgg+: expected stage ${expected}, got ${next}; the round is abandoned`,
    );
  }
}

function setup(message: Message, context: Context, configs: ConfigReader): Message {
  const threshold = configs.integer(Key.THRESHOLD);
  if (threshold < 2) {
    throw new FedbridgeError(Code.InvalidArgument, `SecAgg+: threshold ${threshold} is below 2`);
  }
  const key1 = generateKeyPair();
  const key2 = generateKeyPair();
  saveNodeState(context, {
    stage: Stage.SETUP,
    nodeId: message.metadata.dstNodeId,
    threshold,
    clippingRange: configs.number(Key.CLIPPING_RANGE),
    quantizationRange: configs.integer(Key.TARGET_RANGE),
    modulusRange: configs.integer(Key.MOD_RANGE),
    maxWeight: configs.number(Key.MAX_WEIGHT),
    weightKey: configs.string(Key.WEIGHT_KEY),
    sk1: key1.privateKey,
    pk1: key1.publicKey,
    sk2: key2.privateKey,
    pk2: key2.publicKey,
    seed: new Uint8Array(0),
    neighbours: [],
    pk1s: [],
    pk2s: [],
    shareOwners: [],
    seedShares: [],
    skShares: [],
    maskedWith: [],
  });
  return reply(message, { [Key.PUBLIC_KEY_1]: key1.publicKey, [Key.PUBLIC_KEY_2]: key2.publicKey });
}

function shareKeys(
  message: Message,
  context: Context,
  configs: ConfigReader,
  state: NodeState,
): Message {
  const neighbours = configs.nodeIdList(Key.NODE_ID_LIST);
  const pk1s = configs.bytesList(Key.PUBLIC_KEY_1_LIST);
  const pk2s = configs.bytesList(Key.PUBLIC_KEY_2_LIST);
  const fail = (reason: string) =>
    new FedbridgeError(Code.FailedPrecondition, `SecAgg+ share_keys: ${reason}`);
  if (pk1s.length !== neighbours.length || pk2s.length !== neighbours.length)
    throw fail("the node id and public key lists differ in length");
  if (new Set(neighbours).size !== neighbours.length) throw fail("a neighbour is listed twice");
  if (neighbours.length < state.threshold) {
    throw fail(`${neighbours.length} neighbours, fewer than the threshold ${state.threshold}`);
  }
  const keys = [...pk1s, ...pk2s].map((k) => Buffer.from(k).toString("hex"));
  if (new Set(keys).size !== keys.length) throw fail("two public keys are identical");
  const self = neighbours.indexOf(state.nodeId);
  if (self < 0 || !equal(pk1s[self], state.pk1) || !equal(pk2s[self], state.pk2)) {
    throw fail("this node's own public keys are missing or wrong");
  }
  const seed = randomBytes(32);
  const seedShares = createShares(seed, state.threshold, neighbours.length);
  const skShares = createShares(state.sk1, state.threshold, neighbours.length);
  const dsts: bigint[] = [];
  const ciphertexts: Uint8Array[] = [];
  neighbours.forEach((nid, i) => {
    if (nid === state.nodeId) return;
    const key = agreeKey(state.sk2, pk2s[i] as Uint8Array, "share-encryption");
    const plaintext = Buffer.concat([seedShares[i] as Uint8Array, skShares[i] as Uint8Array]);
    dsts.push(nid);
    ciphertexts.push(encryptShare(key, plaintext, shareAssociatedData(state.nodeId, nid)));
  });
  saveNodeState(context, {
    ...state,
    stage: Stage.SHARE_KEYS,
    seed: Uint8Array.from(seed),
    neighbours,
    pk1s,
    pk2s,
    shareOwners: [state.nodeId],
    seedShares: [seedShares[self] as Uint8Array],
    skShares: [skShares[self] as Uint8Array],
  });
  return reply(message, { [Key.DESTINATION_LIST]: dsts, [Key.CIPHERTEXT_LIST]: ciphertexts });
}

async function collectMaskedVectors(
  message: Message,
  context: Context,
  callNext: ClientAppCallable,
  configs: ConfigReader,
  state: NodeState,
): Promise<Message> {
  const srcs = configs.nodeIdList(Key.SOURCE_LIST);
  const ciphertexts = configs.bytesList(Key.CIPHERTEXT_LIST);
  const fail = (reason: string) =>
    new FedbridgeError(Code.FailedPrecondition, `SecAgg+ collect_masked_vectors: ${reason}`);
  if (srcs.length !== ciphertexts.length) throw fail("the source and ciphertext lists differ");
  if (srcs.length + 1 < state.threshold) {
    throw fail(
      `shares from ${srcs.length} neighbours, too few for the threshold ${state.threshold}`,
    );
  }
  const shareOwners = [...state.shareOwners];
  const seedShares = [...state.seedShares];
  const skShares = [...state.skShares];
  for (const [i, src] of srcs.entries()) {
    const at = state.neighbours.indexOf(src);
    if (at < 0 || src === state.nodeId || shareOwners.includes(src))
      throw fail(`unexpected shares from node ${src}`);
    const key = agreeKey(state.sk2, state.pk2s[at] as Uint8Array, "share-encryption");
    const plaintext = decryptShare(
      key,
      ciphertexts[i] as Uint8Array,
      shareAssociatedData(src, state.nodeId),
    );
    const half = plaintext.length / 2;
    shareOwners.push(src);
    seedShares.push(plaintext.subarray(0, half));
    skShares.push(plaintext.subarray(half));
  }

  // Train: the app sees the instruction as the strategy made it.
  const content = new RecordDict([...message.content].filter(([key]) => key !== CONFIGS_KEY));
  const trained = await callNext(new Message(content, { metadata: message.metadata }), context);
  if (trained.hasError()) return trained;
  const { name, arrays, weight, rest } = readTrainReply(trained.content, state.weightKey);
  if (!(weight >= 0) || weight > state.maxWeight) {
    throw fail(
      `the weight '${state.weightKey}' (${weight}) must be in [0, maxWeight ${state.maxWeight}]; raise maxWeight on the server`,
    );
  }

  // Weight and quantize ([q, q/T · update]), then add the self mask and the pairwise masks.
  const seed = String(context.runConfig.seed ?? 0);
  const vector = quantizeUpdate(arrays, weight, state, seed);
  const length = vector.length;
  addMask(vector, expandMask(state.seed, length));
  for (const src of srcs) {
    const pk1 = state.pk1s[state.neighbours.indexOf(src)] as Uint8Array;
    const pairwise = expandMask(agreeKey(state.sk1, pk1, "pairwise-mask"), length);
    addMask(vector, pairwise, pairwiseSign(state.nodeId, src));
  }
  reduceModulo(vector, state.modulusRange);

  const masked = new ArrayRecord();
  let offset = 1;
  for (const [key, array] of arrays) {
    masked.set(
      key,
      FlowerArray.fromTypedArray(vector.subarray(offset, offset + array.size), array.shape),
    );
    offset += array.size;
  }
  saveNodeState(context, {
    ...state,
    stage: Stage.COLLECT_MASKED_VECTORS,
    shareOwners,
    seedShares,
    skShares,
    maskedWith: srcs,
  });
  const out = new RecordDict(rest);
  out.set(MASKED_KEY, masked);
  out.set(
    CONFIGS_KEY,
    new ConfigRecord({
      [Key.MASKED_WEIGHT]: vector[0] as number,
      [Key.ARRAY_RECORD]: name,
      [Key.DTYPES]: [...arrays.values()].map((a) => a.dtype),
    }),
  );
  return new Message(out, { replyTo: message });
}

function unmask(
  message: Message,
  context: Context,
  configs: ConfigReader,
  state: NodeState,
): Message {
  const active = configs.nodeIdList(Key.ACTIVE_NODE_ID_LIST);
  const dead = configs.nodeIdList(Key.DEAD_NODE_ID_LIST);
  const fail = (reason: string) =>
    new FedbridgeError(Code.FailedPrecondition, `SecAgg+ unmask: ${reason}`);
  const all = [...active, ...dead];
  if (new Set(all).size !== all.length)
    throw fail("a node is listed twice, or both active and dead");
  if (dead.includes(state.nodeId)) throw fail("this node is listed as dead");
  if (active.length < state.threshold) {
    throw fail(`${active.length} active neighbours, fewer than the threshold ${state.threshold}`);
  }
  const holding = (nid: bigint) => {
    const at = state.shareOwners.indexOf(nid);
    if (at < 0) throw fail(`this node holds no share of node ${nid}`);
    return at;
  };
  const shares = [
    ...active.map((nid) => state.seedShares[holding(nid)] as Uint8Array),
    ...dead.map((nid) => state.skShares[holding(nid)] as Uint8Array),
  ];
  clearNodeState(context);
  return reply(message, { [Key.NODE_ID_LIST]: all, [Key.SHARE_LIST]: shares });
}

/** The train reply's one ArrayRecord, its weight, and its other records. */
function readTrainReply(
  content: RecordDict,
  weightKey: string,
): { name: string; arrays: ArrayRecord; weight: number; rest: RecordDict } {
  const fail = (reason: string) =>
    new FedbridgeError(Code.FailedPrecondition, `SecAgg+: the train reply ${reason}`);
  if (content.arrayRecords.size !== 1) throw fail("must carry exactly one ArrayRecord");
  const [name, arrays] = [...content.arrayRecords][0] as [string, ArrayRecord];
  const metrics = [...content.metricRecords.values()];
  if (metrics.length !== 1) throw fail("must carry exactly one MetricRecord");
  const weight = metrics[0]?.get(weightKey);
  if (typeof weight !== "number" && typeof weight !== "bigint") {
    throw fail(`has no number '${weightKey}' in its MetricRecord`);
  }
  const rest = new RecordDict([...content].filter(([key]) => key !== name));
  return { name, arrays, weight: Number(weight), rest };
}

function reply(to: Message, values: ConstructorParameters<typeof ConfigRecord>[0]): Message {
  return new Message(new RecordDict({ [CONFIGS_KEY]: new ConfigRecord(values) }), {
    replyTo: to,
  });
}

function equal(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(b);
}
