import { describe, expect, it } from "vitest";
import {
  type AuthorizationPolicy,
  defaultAuthorizationPolicy,
  RIGHTS,
  type Right,
} from "../provision/authorization-policy.ts";
import { type AdminUser, authorize, type JobOwner } from "./authz.ts";

const users = {
  projectAdmin: { name: "admin@org-a.com", org: "org-a", role: "project_admin" },
  orgAdmin: { name: "oa@org-a.com", org: "org-a", role: "org_admin" },
  lead: { name: "lead@org-a.com", org: "org-a", role: "lead" },
  otherLead: { name: "lead2@org-a.com", org: "org-a", role: "lead" },
  foreignLead: { name: "lead@org-b.com", org: "org-b", role: "lead" },
  member: { name: "member@org-a.com", org: "org-a", role: "member" },
} satisfies Record<string, AdminUser>;

const jobOf = (user: AdminUser): JobOwner => ({ submitter: { name: user.name, org: user.org } });
const ownJob = jobOf(users.lead);
const sameOrgJob = jobOf(users.otherLead);
const otherOrgJob = jobOf(users.foreignLead);
const policy = defaultAuthorizationPolicy();
const allowed = (user: AdminUser, right: Right, job?: JobOwner, siteOrg = "org-a") =>
  authorize(policy, user, right, job, { siteOrg }).allowed;

describe("authorize, with the default policy", () => {
  it("lets a project admin do anything", () => {
    for (const right of RIGHTS)
      for (const job of [undefined, ownJob, otherOrgJob])
        expect(allowed(users.projectAdmin, right, job, "org-z")).toBe(true);
  });

  it("lets an org admin manage and download its org's jobs, submit none, operate its site", () => {
    const { orgAdmin } = users;
    expect(allowed(orgAdmin, "manage_job", sameOrgJob)).toBe(true);
    expect(allowed(orgAdmin, "download_job", ownJob)).toBe(true);
    expect(allowed(orgAdmin, "manage_job", otherOrgJob)).toBe(false);
    expect(allowed(orgAdmin, "download_job", otherOrgJob)).toBe(false);
    expect(allowed(orgAdmin, "submit_job")).toBe(false);
    expect(allowed(orgAdmin, "view")).toBe(true);
    expect(allowed(orgAdmin, "operate")).toBe(true);
    expect(allowed(orgAdmin, "operate", undefined, "org-b")).toBe(false);
  });

  it("lets a lead submit, and manage and download only its own jobs", () => {
    const { lead } = users;
    expect(allowed(lead, "submit_job")).toBe(true);
    expect(allowed(lead, "manage_job", ownJob)).toBe(true);
    expect(allowed(lead, "download_job", ownJob)).toBe(true);
    for (const job of [sameOrgJob, otherOrgJob]) {
      expect(allowed(lead, "manage_job", job)).toBe(false);
      expect(allowed(lead, "download_job", job)).toBe(false);
    }
    expect(allowed(lead, "view")).toBe(true);
    // A job right with no job to check fails closed.
    expect(allowed(lead, "manage_job")).toBe(false);
  });

  it("names a submit denial without a job, since none exists yet", () => {
    expect(authorize(policy, users.member, "submit_job").reason).toBe(
      "member member@org-a.com (org-a) may not submit_job: role member lacks submit_job",
    );
    expect(authorize(policy, users.lead, "submit_job").reason).toBe(
      "lead lead@org-a.com (org-a) may submit_job (any)",
    );
  });

  it("lets a member only look", () => {
    const { member } = users;
    expect(allowed(member, "view")).toBe(true);
    for (const job of [ownJob, sameOrgJob, otherOrgJob, jobOf(member)]) {
      expect(allowed(member, "manage_job", job)).toBe(false);
      expect(allowed(member, "download_job", job)).toBe(false);
    }
    expect(allowed(member, "submit_job")).toBe(false);
    expect(allowed(member, "operate")).toBe(false);
  });

  it("explains each decision in one sentence", () => {
    expect(authorize(policy, users.member, "manage_job", ownJob)).toEqual({
      allowed: false,
      reason:
        "member member@org-a.com (org-a) may not manage_job on a job of lead@org-a.com: role member lacks manage_job",
    });
    expect(authorize(policy, users.lead, "manage_job", sameOrgJob)).toEqual({
      allowed: false,
      reason:
        "lead lead@org-a.com (org-a) may not manage_job on a job of lead2@org-a.com: needs n:submitter",
    });
    expect(authorize(policy, users.lead, "manage_job", ownJob)).toEqual({
      allowed: true,
      reason: "lead lead@org-a.com (org-a) may manage_job on a job of lead@org-a.com (n:submitter)",
    });
  });
});

describe("authorize, with a custom policy", () => {
  const custom = {
    formatVersion: 1,
    permissions: {
      project_admin: "any",
      org_admin: ["o:org-b", "n:oa@org-a.com"],
      lead: { submit_job: ["n:someone-else", "o:submitter"], manage_job: "o:site" },
      member: { view: "n:other@org-a.com", download_job: "x:unknown" },
    },
  } satisfies AuthorizationPolicy;

  it("evaluates named people and orgs, lists, and o:site", () => {
    expect(authorize(custom, users.orgAdmin, "operate").allowed).toBe(true);
    expect(authorize(custom, { ...users.orgAdmin, name: "x@org-a.com" }, "view").allowed).toBe(
      false,
    );
    expect(
      authorize(custom, { ...users.orgAdmin, org: "org-b", name: "y" }, "view").reason,
    ).toMatch(/may view \(o:org-b\)$/);
    expect(authorize(custom, users.lead, "submit_job").allowed).toBe(true);
    expect(authorize(custom, users.lead, "manage_job", otherOrgJob).allowed).toBe(false);
    const atSite = { siteOrg: "org-a" };
    expect(authorize(custom, users.lead, "manage_job", otherOrgJob, atSite).allowed).toBe(true);
    expect(authorize(custom, users.member, "view").reason).toMatch(/needs n:other@org-a.com$/);
  });

  it("fails closed on unknown roles and conditions", () => {
    const unknown = authorize(custom, users.member, "download_job", jobOf(users.member));
    expect(unknown).toEqual({
      allowed: false,
      reason: expect.stringMatching(/unknown condition "x:unknown" in the policy$/),
    });
    for (const role of ["auditor", "constructor", "__proto__"]) {
      const decision = authorize(custom, { ...users.member, role }, "view");
      expect(decision).toEqual({
        allowed: false,
        reason: expect.stringMatching(new RegExp(`the policy has no role ${role}$`)),
      });
    }
  });
});
