import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MetricRecord } from "./records/metric-record.ts";
import { encodeArrayRecord } from "./records/serde.ts";
import type { PhaseReplies, Result } from "./strategy/result.ts";

/** How a run was executed, as result.json names it. */
export type RunMode = "simulation" | "deployment" | "runtime";

type Metrics = Record<string, number | number[]>;

/** How one phase's replies went, as result.json lists them. */
interface PhaseRepliesJson {
  succeeded: number;
  failed: number;
  /** The first failure of each distinct reason. */
  errors: { node: string; code: string; reason: string }[];
}

/** result.json, as ../shared/CLI.md defines it. */
export interface RunSummaryJson {
  mode: RunMode;
  rounds: {
    round: number;
    train?: Metrics;
    evaluate?: Metrics;
    serverEvaluate?: Metrics;
    replies?: { train: PhaseRepliesJson; evaluate: PhaseRepliesJson };
  }[];
  /** The ServerApp's evaluation of the initial model (round 0), when it has one. */
  initialEvaluate?: Metrics;
  finalArraysSha256: string;
}

/**
 * Builds result.json's content and final-arrays.pb's bytes from a strategy's Result; `nodeName`
 * names a node in the reply errors (a runtime site's name; default `node-<id>`).
 */
export function summarizeResult(
  mode: RunMode,
  result: Result,
  nodeName: (nodeId: bigint) => string = (nodeId) => `node-${nodeId}`,
): { summary: RunSummaryJson; finalArrays: Uint8Array } {
  const finalArrays = encodeArrayRecord(result.arrays);
  const roundNumbers = new Set([
    ...result.trainMetricsClientapp.keys(),
    ...result.evaluateMetricsClientapp.keys(),
    ...result.evaluateMetricsServerapp.keys(),
    ...result.replies.keys(),
  ]);
  const phase = (replies: PhaseReplies): PhaseRepliesJson => ({
    succeeded: replies.sent - replies.failed,
    failed: replies.failed,
    errors: replies.errors.map((e) => ({
      node: nodeName(e.nodeId),
      code: e.code,
      reason: e.reason,
    })),
  });
  const rounds = [...roundNumbers]
    .filter((round) => round > 0)
    .sort((a, b) => a - b)
    .map((round) => ({
      round,
      ...metricsEntry("train", result.trainMetricsClientapp.get(round)),
      ...metricsEntry("evaluate", result.evaluateMetricsClientapp.get(round)),
      ...metricsEntry("serverEvaluate", result.evaluateMetricsServerapp.get(round)),
      ...repliesEntry(result.replies.get(round), phase),
    }));
  const finalArraysSha256 = createHash("sha256").update(finalArrays).digest("hex");
  const initial = metricsEntry("initialEvaluate", result.evaluateMetricsServerapp.get(0));
  return { summary: { mode, rounds, ...initial, finalArraysSha256 }, finalArrays };
}

/** Writes result.json and final-arrays.pb into `dir` (created if missing). */
export async function writeRunOutput(
  dir: string,
  mode: RunMode,
  result: Result,
): Promise<RunSummaryJson> {
  const { summary, finalArrays } = summarizeResult(mode, result);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "final-arrays.pb"), finalArrays);
  await writeFile(join(dir, "result.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

function repliesEntry(
  replies: { train: PhaseReplies; evaluate: PhaseReplies } | undefined,
  phase: (replies: PhaseReplies) => PhaseRepliesJson,
): { replies?: { train: PhaseRepliesJson; evaluate: PhaseRepliesJson } } {
  return replies === undefined
    ? {}
    : { replies: { train: phase(replies.train), evaluate: phase(replies.evaluate) } };
}

function metricsEntry(name: string, record: MetricRecord | undefined): Record<string, Metrics> {
  if (record === undefined) return {};
  const metrics: Metrics = {};
  for (const [key, value] of record)
    metrics[key] = typeof value === "object" ? value.map(Number) : Number(value);
  return { [name]: metrics };
}
