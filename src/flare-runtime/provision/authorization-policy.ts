import type { AdminRole } from "./kit-config.ts";

/**
 * The rights an admin command needs, modelled on NVFlare's command categories:
 * - `submit_job`: submit;
 * - `manage_job`: abort (and later clone, delete) a job;
 * - `download_job`: download a job's results, logs and tracking files;
 * - `view`: sites, list, status, wait;
 * - `operate`: act on the system itself (remove a site, shut down).
 */
export const RIGHTS = ["submit_job", "manage_job", "download_job", "view", "operate"] as const;
export type Right = (typeof RIGHTS)[number];

/**
 * Who, among the users of a role, holds a right. A condition is one of:
 * - `any` / `none`;
 * - `n:submitter`: the user submitted the job; `o:submitter`: the user is in the submitter's org;
 * - `o:site`: the user is in the org of the site (here: the server) that decides;
 * - `n:NAME`: the user is NAME; `o:ORG`: the user is in ORG.
 * A list holds the right when any of its conditions does; a right a role does not list is denied.
 */
export type Condition = string | string[];

/** `authorization.json`: per role, either one condition for every right or one per right. */
export interface AuthorizationPolicy {
  formatVersion: 1;
  permissions: Record<AdminRole, Condition | Partial<Record<Right, Condition>>>;
}

/**
 * The policy a server kit starts with (NVFlare's default): a project admin may do anything; an
 * org admin manages and downloads the jobs of people in their org but submits none; a lead
 * submits jobs and manages and downloads their own; a member only looks.
 */
export function defaultAuthorizationPolicy(): AuthorizationPolicy {
  return {
    formatVersion: 1,
    permissions: {
      project_admin: "any",
      org_admin: {
        submit_job: "none",
        manage_job: "o:submitter",
        download_job: "o:submitter",
        view: "any",
        operate: "o:site",
      },
      lead: {
        submit_job: "any",
        manage_job: "n:submitter",
        download_job: "n:submitter",
        view: "any",
        operate: "o:site",
      },
      member: {
        view: "any",
      },
    },
  };
}
