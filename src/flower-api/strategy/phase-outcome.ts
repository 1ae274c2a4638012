import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Grid } from "../app/grid.ts";
import type { NodeFailure } from "../app/run-observer.ts";
import { ErrorCode } from "../message/error.ts";
import type { Message } from "../message/message.ts";
import type { PhaseReplies } from "./result.ts";

/** Distinct failures kept per phase: enough to tell what went wrong, bounded for big runs. */
const KEPT_ERRORS = 5;

/** Error codes that mean the app itself cannot run on a node, whatever the round. */
const CANNOT_LOAD = new Set<number>([ErrorCode.LOAD_CLIENT_APP_EXCEPTION, ErrorCode.INVALID_FAB]);

/** The reason a Flower 1.28 node gives for any ClientApp it cannot load, whatever the cause. */
const FLOWER_LOAD_REASON = "An exception was raised when attempting to load `ClientApp`";

/** A reply's reason as a person needs it: Flower's fixed load reason says where to look. */
export function explainReason(reason: string): string {
  if (reason !== FLOWER_LOAD_REASON) return reason;
  return `${reason} (a Flower node: its own log has the traceback; it refuses a ClientApp whose pyproject.toml identity differs from the run's fab id and version, or whose imports are missing there)`;
}

/** How a phase's replies went: counts and the first failure of each distinct reason. */
export function tallyReplies(
  replies: readonly Message[],
  phase: NodeFailure["phase"],
): PhaseReplies {
  const errors: NodeFailure[] = [];
  const seen = new Set<string>();
  let failed = 0;
  for (const reply of replies) {
    if (!reply.hasError()) continue;
    failed++;
    const code = reply.error.codeName;
    const reason = explainReason(reply.error.reason);
    if (seen.has(`${code} ${reason}`) || errors.length >= KEPT_ERRORS) continue;
    seen.add(`${code} ${reason}`);
    errors.push({ nodeId: reply.metadata.srcNodeId, phase, code, reason });
  }
  return { sent: replies.length, failed, errors };
}

/** A node as a person reads it: a site's name in the runtime, `node <id>` elsewhere. */
export function nodeName(grid: Grid, nodeId: bigint): string {
  return grid.nodeName?.(nodeId) ?? `node ${nodeId}`;
}

/**
 * Throws when a phase's outcome means the run cannot be trusted to go on: a node cannot load
 * the ClientApp, or no reply succeeded. The error names the nodes and their reasons.
 */
export function checkPhase(
  round: number,
  phase: NodeFailure["phase"],
  replies: readonly Message[],
  outcome: PhaseReplies,
  grid: Grid,
): void {
  const describe = (failure: { nodeId: bigint; code: string; reason: string }) =>
    `${nodeName(grid, failure.nodeId)}: ${failure.code}: ${failure.reason}`;
  const unloadable = replies.find((r) => r.hasError() && CANNOT_LOAD.has(r.error.code));
  if (unloadable !== undefined) {
    const { codeName: code, reason } = unloadable.error;
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `the ClientApp cannot run at ${describe({ nodeId: unloadable.metadata.srcNodeId, code, reason })}`,
    );
  }
  if (outcome.sent > 0 && outcome.failed === outcome.sent) {
    throw new FedbridgeError(
      Code.Unavailable,
      `round ${round}: none of the ${outcome.sent} ${phase} replies succeeded: ${outcome.errors.map(describe).join("; ")}`,
    );
  }
}
