import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { RecordDict } from "../records/record-dict.ts";

/**
 * Flower's `validate_message_reply_consistency`: replies to aggregate must each carry one
 * ArrayRecord (for training) and one MetricRecord with the same keys, including a single
 * numeric weight. Throws a FedbridgeError (FAILED_PRECONDITION) that says which rule broke.
 */
export function checkReplyConsistency(
  replies: readonly RecordDict[],
  weightKey: string,
  checkArrays: boolean,
): void {
  const fail = (reason: string) =>
    new FedbridgeError(Code.FailedPrecondition, `inconsistent replies: ${reason}`);
  const first = replies[0];
  if (first === undefined) return;
  if (checkArrays) {
    if (replies.some((r) => r.arrayRecords.size !== 1))
      throw fail("expected exactly one ArrayRecord in each reply");
    const [name, arrays] = [...first.arrayRecords][0] as [string, Map<string, unknown>];
    const keys = sortedKeys(arrays);
    if (replies.some((r) => sortedKeys(r.arrayRecords.get(name)) !== keys)) {
      throw fail("all ArrayRecords must have the same name and keys");
    }
  }
  if (replies.some((r) => r.metricRecords.size !== 1))
    throw fail("expected exactly one MetricRecord in each reply");
  const [name, metrics] = [...first.metricRecords][0] as [string, Map<string, unknown>];
  const keys = sortedKeys(metrics);
  if (replies.some((r) => sortedKeys(r.metricRecords.get(name)) !== keys)) {
    throw fail("all MetricRecords must have the same name and keys");
  }
  if (!metrics.has(weightKey))
    throw fail(`missing the weight key '${weightKey}' in the MetricRecord`);
  if (replies.some((r) => typeof r.metricRecords.get(name)?.get(weightKey) === "object")) {
    throw fail(`'${weightKey}' must be a single number, not a list`);
  }
}

function sortedKeys(map: Map<string, unknown> | undefined): string {
  return JSON.stringify(map === undefined ? null : [...map.keys()].sort());
}
