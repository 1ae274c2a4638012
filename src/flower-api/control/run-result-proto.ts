import { create } from "@bufbuild/protobuf";
import {
  type NodeFailure as NodeFailureProto,
  type PhaseReplies as PhaseRepliesProto,
  type RoundMetrics,
  type RunResult,
  RunResultSchema,
} from "../../gen/fedbridge/v1/control_pb.ts";
import type { NodeFailure } from "../app/run-observer.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import {
  arrayRecordFromProto,
  arrayRecordToProto,
  metricRecordFromProto,
  metricRecordToProto,
} from "../records/serde.ts";
import { type PhaseReplies, Result } from "../strategy/result.ts";

/** A strategy's Result to and from the control API's `RunResult`. */

export function resultToProto(result: Result): RunResult {
  const rounds = (metrics: Map<number, MetricRecord>) =>
    [...metrics].map(([round, record]) => ({ round, metrics: metricRecordToProto(record) }));
  return create(RunResultSchema, {
    arrays: arrayRecordToProto(result.arrays),
    trainMetrics: rounds(result.trainMetricsClientapp),
    evaluateMetrics: rounds(result.evaluateMetricsClientapp),
    serverEvaluateMetrics: rounds(result.evaluateMetricsServerapp),
    replies: [...result.replies].map(([round, { train, evaluate }]) => ({
      round,
      train: phaseToProto(train),
      evaluate: phaseToProto(evaluate),
    })),
  });
}

export function resultFromProto(proto: RunResult): Result {
  const result = new Result();
  if (proto.arrays) result.arrays = arrayRecordFromProto(proto.arrays);
  const fill = (target: Map<number, MetricRecord>, rounds: RoundMetrics[]) => {
    for (const { round, metrics } of rounds)
      if (metrics) target.set(round, metricRecordFromProto(metrics));
  };
  fill(result.trainMetricsClientapp, proto.trainMetrics);
  fill(result.evaluateMetricsClientapp, proto.evaluateMetrics);
  fill(result.evaluateMetricsServerapp, proto.serverEvaluateMetrics);
  for (const { round, train, evaluate } of proto.replies)
    result.replies.set(round, { train: phaseFromProto(train), evaluate: phaseFromProto(evaluate) });
  return result;
}

/** A failed reply on the control API (its phase as a string). */
export function failureToProto(failure: NodeFailure): Omit<NodeFailureProto, "$typeName"> {
  return { ...failure };
}

export function failureFromProto(proto: NodeFailureProto): NodeFailure {
  const phase = proto.phase === "evaluate" ? "evaluate" : "train";
  return { nodeId: proto.nodeId, phase, code: proto.code, reason: proto.reason };
}

function phaseToProto(phase: PhaseReplies) {
  return { sent: phase.sent, failed: phase.failed, errors: phase.errors.map(failureToProto) };
}

function phaseFromProto(proto: PhaseRepliesProto | undefined): PhaseReplies {
  return {
    sent: proto?.sent ?? 0,
    failed: proto?.failed ?? 0,
    errors: (proto?.errors ?? []).map(failureFromProto),
  };
}
