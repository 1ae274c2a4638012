import type { RoundSummary } from "../flower-api/app/run-observer.ts";

/**
 * The job-log lines of each round's failed replies, naming the site: a failure shows in the
 * first round of each stretch of rounds it recurs in, so a site that stays down for a hundred
 * rounds is one line, and a site that fails again after a round without that failure (a
 * second outage) is a new line. Failures are told apart by site, code and reason.
 */
export function failureLog(siteName: (nodeId: bigint) => string): (s: RoundSummary) => string[] {
  let lastRound = new Set<string>();
  return (summary) => {
    const thisRound = new Set<string>();
    const lines: string[] = [];
    for (const { nodeId, phase, code, reason } of summary.errors) {
      const key = `${siteName(nodeId)} ${code} ${reason}`;
      if (!lastRound.has(key) && !thisRound.has(key))
        lines.push(`round ${summary.round}: ${siteName(nodeId)} (${phase}): ${code}: ${reason}`);
      thisRound.add(key);
    }
    lastRound = thisRound;
    return lines;
  };
}
