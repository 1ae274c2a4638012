import type { StoredScalar } from "../../src/tracking/tracking-store.ts";
import type { Fault } from "./soak-faults.ts";

/** A phase's replies in a round of result.json (run-output.ts). */
interface PhaseJson {
  succeeded: number;
  failed: number;
  errors: { node: string; code: string; reason: string }[];
}

/** The part of result.json the soak checks. */
export interface RoundsJson {
  rounds?: { round: number; replies?: { train: PhaseJson; evaluate: PhaseJson } }[];
}

export interface SoakOutcome {
  status: string;
  rounds: number;
  sites: number;
  result: RoundsJson;
  /** The job's rows in the server's tracking store. */
  scalars: readonly StoredScalar[];
  /** The job's log at the server. */
  log: string;
  faults: readonly Fault[];
  /** Job processes (server's and sites') still running after the job. */
  leftJobProcesses: readonly number[];
}

/** Rounds after a site is back in which its fault must have shown. */
const SHOWS_WITHIN = 3;

/** What the soak requires, as a list of what failed (empty: all holds). */
export function soakChecks(o: SoakOutcome): string[] {
  const failures: string[] = [];
  if (o.status !== "FINISHED:COMPLETED") failures.push(`the job ended ${o.status}`);
  const rounds = new Map((o.result.rounds ?? []).map((r) => [r.round, r]));
  if (rounds.size !== o.rounds)
    failures.push(`result.json has ${rounds.size} rounds, not ${o.rounds}`);

  // Every round: each site replied (a responder, tracked with its metrics) or failed (a reason).
  const responders = new Map<string, Set<string>>();
  for (const s of o.scalars) {
    if (s.site === "server") continue;
    const key = `${s.tag.split("/")[0]} ${s.step}`;
    responders.set(key, (responders.get(key) ?? new Set()).add(s.site));
  }
  for (let r = 1; r <= o.rounds; r++) {
    const replies = rounds.get(r)?.replies;
    if (replies === undefined) {
      failures.push(`round ${r}: no replies in result.json`);
      continue;
    }
    for (const phase of ["train", "evaluate"] as const) {
      const p = replies[phase];
      if (p.succeeded + p.failed !== o.sites)
        failures.push(`round ${r} ${phase}: ${p.succeeded} + ${p.failed} replies, not ${o.sites}`);
      if (p.failed > 0 && p.errors.length === 0)
        failures.push(`round ${r} ${phase}: ${p.failed} failed, no reason given`);
      const tracked = responders.get(`${phase} ${r}`)?.size ?? 0;
      if (tracked !== p.succeeded)
        failures.push(
          `round ${r} ${phase}: ${tracked} responders in the tracking store, ${p.succeeded} in result.json`,
        );
    }
  }

  // Every fault: a server restart is a resume in the log; a site's, a failure of that site in
  // a round between the fault and a few rounds after the site was back, in the log and in
  // result.json.
  const restarts = o.faults.filter((f) => f.kind === "restart-server").length;
  const resumes = o.log.match(/resuming: the ServerApp runs again/g)?.length ?? 0;
  if (resumes !== restarts)
    failures.push(`${restarts} server restart(s), but ${resumes} resume(s) in the job's log`);
  for (const f of o.faults) {
    if (f.site === undefined) continue;
    const from = f.round;
    const to = (f.backRound ?? f.round) + SHOWS_WITHIN;
    const within = (r: number) => r >= from && r <= to;
    const logged = [...o.log.matchAll(new RegExp(`round (\\d+): ${f.site} \\(`, "g"))].some((m) =>
      within(Number(m[1])),
    );
    const inRounds = [...rounds.values()].some(
      (r) =>
        within(r.round) &&
        [r.replies?.train, r.replies?.evaluate].some((p) =>
          p?.errors.some((e) => e.node === f.site),
        ),
    );
    const what = `${f.kind} ${f.site} at round ${f.round} (back by ${f.backRound})`;
    if (!logged)
      failures.push(`${what}: no failure of ${f.site} in the job's log in rounds ${from}..${to}`);
    if (!inRounds)
      failures.push(`${what}: no failure of ${f.site} in result.json's rounds ${from}..${to}`);
  }
  if (o.leftJobProcesses.length > 0)
    failures.push(`job processes still running after the job: ${o.leftJobProcesses.join(", ")}`);
  return failures;
}
