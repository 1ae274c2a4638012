/**
 * The wire vocabulary of fedbridge's SecAgg+: the stages, in order, and the keys of the
 * ConfigRecord that carries each stage's data. The names follow Flower's
 * `secaggplus_constants.py`, but the cryptography differs (X25519, AES-GCM, AES-CTR masks),
 * so neither side talks to Flower's Python `secaggplus_mod` or `SecAggPlusWorkflow`.
 */

/** RecordDict key of the ConfigRecord with a stage's data, in instructions and replies. */
export const CONFIGS_KEY = "secaggplus_configs";
/** RecordDict key of the masked vector (an ArrayRecord of uint32) in a node's reply. */
export const MASKED_KEY = "secaggplus_masked";
/** Key of a node's protocol state in its `context.state`. */
export const STATE_KEY = "secaggplus_state";

/** The four stages of a round, in the order a node must see them. */
export const Stage = {
  SETUP: "setup",
  SHARE_KEYS: "share_keys",
  COLLECT_MASKED_VECTORS: "collect_masked_vectors",
  UNMASK: "unmask",
} as const;

export type Stage = (typeof Stage)[keyof typeof Stage];

export const STAGES: readonly Stage[] = Object.values(Stage);

/** Keys of the stage ConfigRecords. */
export const Key = {
  STAGE: "stage",
  SAMPLE_NUMBER: "sample_num",
  SHARE_NUMBER: "share_num",
  THRESHOLD: "threshold",
  CLIPPING_RANGE: "clipping_range",
  TARGET_RANGE: "target_range",
  MOD_RANGE: "mod_range",
  MAX_WEIGHT: "max_weight",
  WEIGHT_KEY: "weight_key",
  PUBLIC_KEY_1: "pk1",
  PUBLIC_KEY_2: "pk2",
  NODE_ID_LIST: "nids",
  PUBLIC_KEY_1_LIST: "pk1s",
  PUBLIC_KEY_2_LIST: "pk2s",
  DESTINATION_LIST: "dsts",
  CIPHERTEXT_LIST: "ctxts",
  SOURCE_LIST: "srcs",
  MASKED_WEIGHT: "masked_weight",
  ARRAY_RECORD: "array_record",
  DTYPES: "dtypes",
  ACTIVE_NODE_ID_LIST: "active_nids",
  DEAD_NODE_ID_LIST: "dead_nids",
  SHARE_LIST: "shares",
} as const;

/**
 * Node `self` adds the pairwise mask it shares with `other` when its id is the larger, and
 * subtracts it otherwise, so the two masks cancel in the sum.
 */
export function pairwiseSign(self: bigint, other: bigint): 1 | -1 {
  return self > other ? 1 : -1;
}

/** Associated data that binds an encrypted share to its sender and its recipient. */
export function shareAssociatedData(src: bigint, dst: bigint): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, src));
  view.setBigUint64(8, BigInt.asUintN(64, dst));
  return out;
}
