import { create } from "@bufbuild/protobuf";
import {
  type RoundMetrics,
  type RunResult,
  RunResultSchema,
} from "../../gen/fedbridge/v1/control_pb.ts";
import type { MetricRecord } from "../records/metric-record.ts";
import {
  arrayRecordFromProto,
  arrayRecordToProto,
  metricRecordFromProto,
  metricRecordToProto,
} from "../records/serde.ts";
import { Result } from "../strategy/result.ts";

/** A strategy's Result to and from the control API's `RunResult`. */

export function resultToProto(result: Result): RunResult {
  const rounds = (metrics: Map<number, MetricRecord>) =>
    [...metrics].map(([round, record]) => ({ round, metrics: metricRecordToProto(record) }));
  return create(RunResultSchema, {
    arrays: arrayRecordToProto(result.arrays),
    trainMetrics: rounds(result.trainMetricsClientapp),
    evaluateMetrics: rounds(result.evaluateMetricsClientapp),
    serverEvaluateMetrics: rounds(result.evaluateMetricsServerapp),
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
  return result;
}
