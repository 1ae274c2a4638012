import type { AuthorizationPolicy, Condition, Right } from "../provision/authorization-policy.ts";

/** The admin asking, as their certificate says (CN, O, OU): never as their request claims. */
export interface AdminUser {
  name: string;
  org: string;
  role: string;
}

/** The job a command acts on, when it acts on one. */
export interface JobOwner {
  submitter: { name: string; org: string };
}

export interface AuthorizeOptions {
  /** The org of the server deciding, for `o:site`; without it `o:site` holds for no one. */
  siteOrg?: string;
}

export interface Decision {
  allowed: boolean;
  /** One sentence for the audit log and the refused admin: who, what, and the condition. */
  reason: string;
}

/** The right each admin command needs (authorization-policy.ts lists what each right covers). */
export const COMMAND_RIGHTS = {
  sites: "view",
  list: "view",
  status: "view",
  wait: "view",
  submit: "submit_job",
  abort: "manage_job",
  download: "download_job",
} as const satisfies Record<string, Right>;

/**
 * Decides whether `user` holds `right`, on `job` when the right concerns one, under the server
 * kit's `authorization.json` (NVFlare's model: per role, one condition for every right or one
 * per right; a list holds when any of its conditions does). Fails closed: an unknown role, a
 * right the role does not list, a condition this version does not know, or a job condition
 * without a job all deny. For `submit_job` the job is the one being submitted, so its
 * submitter is the user.
 *
 * @example
 * const { allowed, reason } = authorize(policy, user, "manage_job", job, { siteOrg: "org-a" });
 */
export function authorize(
  policy: AuthorizationPolicy,
  user: AdminUser,
  right: Right,
  job?: JobOwner,
  options: AuthorizeOptions = {},
): Decision {
  const target = job ?? (right === "submit_job" ? { submitter: user } : undefined);
  const who = `${user.role} ${user.name} (${user.org})`;
  // A job being submitted does not exist yet: the sentence names only the right.
  const what = job ? `${right} on a job of ${job.submitter.name}` : right;
  const permissions: Record<string, unknown> = policy.permissions;
  const entry = Object.hasOwn(permissions, user.role) ? permissions[user.role] : undefined;
  if (entry === undefined)
    return {
      allowed: false,
      reason: `${who} may not ${what}: the policy has no role ${user.role}`,
    };
  const condition = isCondition(entry) ? entry : ruleFor(entry, right);
  if (condition === undefined)
    return { allowed: false, reason: `${who} may not ${what}: role ${user.role} lacks ${right}` };
  const conditions = typeof condition === "string" ? [condition] : condition;
  const held = conditions.find((c) => holds(c, user, target, options) === true);
  if (held !== undefined) return { allowed: true, reason: `${who} may ${what} (${held})` };
  const unknown = conditions.find((c) => holds(c, user, target, options) === undefined);
  const why =
    unknown !== undefined
      ? `unknown condition "${unknown}" in the policy`
      : conditions.length > 0
        ? `needs ${conditions.join(" or ")}`
        : `role ${user.role} lists no condition for ${right}`;
  return { allowed: false, reason: `${who} may not ${what}: ${why}` };
}

/** Whether one condition holds; undefined for a condition this version does not know. */
function holds(
  condition: string,
  user: AdminUser,
  job: JobOwner | undefined,
  options: AuthorizeOptions,
): boolean | undefined {
  switch (condition) {
    case "any":
      return true;
    case "none":
      return false;
    case "n:submitter":
      return job !== undefined && job.submitter.name === user.name;
    case "o:submitter":
      return job !== undefined && job.submitter.org === user.org;
    case "o:site":
      return options.siteOrg !== undefined && options.siteOrg === user.org;
  }
  if (condition.startsWith("n:") && condition.length > 2) return user.name === condition.slice(2);
  if (condition.startsWith("o:") && condition.length > 2) return user.org === condition.slice(2);
  return undefined;
}

function isCondition(value: unknown): value is Condition {
  return (
    typeof value === "string" ||
    (Array.isArray(value) && value.every((item) => typeof item === "string"))
  );
}

/** A role's condition for one right, from its per-right map; undefined when not listed. */
function ruleFor(entry: unknown, right: Right): Condition | undefined {
  if (typeof entry !== "object" || entry === null || !Object.hasOwn(entry, right)) return undefined;
  const rule: unknown = (entry as Record<string, unknown>)[right];
  return isCondition(rule) ? rule : undefined;
}
