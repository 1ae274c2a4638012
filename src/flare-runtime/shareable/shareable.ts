import { create } from "@bufbuild/protobuf";
import { type RecordDict, RecordDictSchema } from "../../gen/flwr/proto/recorddict_pb.ts";
import type { JsonValue } from "../jobs/job-meta.ts";

/**
 * What a task carries to a site and what a site's result carries back: records as the
 * Flower-style API has them (flwr.proto's RecordDict, so both worlds share one data model),
 * the kind of data they hold, and metadata the workflow and its executors agree on.
 */
export interface Shareable {
  kind: DataKind | (string & {});
  records: RecordDict;
  meta: { [key: string]: JsonValue };
}

/** The kinds of data FLARE's workflows exchange. */
export const DataKind = {
  /** A whole model. */
  WEIGHTS: "WEIGHTS",
  /** A model update: the trained model minus the one sent. */
  WEIGHT_DIFF: "WEIGHT_DIFF",
  /** Numbers only, such as an evaluation's. */
  METRICS: "METRICS",
  /** Nothing: a task that only asks a site to act. */
  NONE: "NONE",
} as const;
export type DataKind = (typeof DataKind)[keyof typeof DataKind];

/** Keys of `meta` the built-in workflows use. */
export const MetaKey = {
  /** The round a task belongs to (1-based). */
  ROUND: "round",
  /** How many examples a result was computed on: its aggregation weight. */
  NUM_EXAMPLES: "numExamples",
} as const;

export function createShareable(
  kind: Shareable["kind"],
  records: RecordDict = create(RecordDictSchema),
  meta: Shareable["meta"] = {},
): Shareable {
  return { kind, records, meta };
}
