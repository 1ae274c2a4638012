import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProject, parseProject } from "./project.ts";

const server = "  - { name: server1, type: server, org: org-a, host: fl.example.com, port: 9000 }";
const yml = (...lines: string[]) => ["name: demo", "participants:", ...lines].join("\n");
const error = (text: string) => {
  try {
    parseProject(text, "p.yml");
  } catch (e) {
    return String((e as Error).message);
  }
  throw new Error("parsed");
};

describe("parseProject", () => {
  it("reads participants in order, with defaults, and keeps unknown keys harmless", () => {
    const project = parseProject(
      [
        "name: demo",
        "description: anything",
        "participants:",
        "  - { name: server1, type: server, org: org-a }",
        "  - { name: site-1, type: client, org: org-a, resources: { gpus: 2, cpuCores: 8 } }",
        "  - name: site-2",
        "    type: client",
        "    org: org-b",
        "    rack: 7",
        "  - { name: lead@org-b.com, type: admin, org: org-b, role: lead }",
      ].join("\n"),
    );
    expect(project.name).toBe("demo");
    expect(project.server).toMatchObject({ name: "server1", host: "localhost", port: 8002 });
    expect(project.participants.map((p) => p.name)).toEqual([
      "server1",
      "site-1",
      "site-2",
      "lead@org-b.com",
    ]);
    expect(project.clients[0]?.resources).toEqual({
      gpus: 2,
      memoryGb: 8,
      maxJobs: 4,
      cpuCores: 8,
    });
    expect(project.clients[1]?.resources).toEqual({ gpus: 0, memoryGb: 8, maxJobs: 4 });
    expect(project.admins).toEqual([
      { type: "admin", name: "lead@org-b.com", org: "org-b", role: "lead" },
    ]);
  });

  it("needs exactly one server", () => {
    expect(error(yml(server, server.replace("server1", "server2")))).toBe(
      "p.yml: exactly one participant of type server is needed, found 2 ('server1', 'server2')",
    );
    expect(error(yml("  - { name: site-1, type: client, org: a }"))).toMatch(/found 0$/);
  });

  it("refuses a name used twice, whatever its case", () => {
    expect(error(yml(server, "  - { name: Server1, type: client, org: a }"))).toBe(
      "p.yml: participant 'Server1': name already used by 'server1'",
    );
  });

  it("names the participant and the field of every mistake", () => {
    expect(error(yml(server, "  - { name: a@b.com, type: admin, org: a, role: boss }"))).toBe(
      "p.yml: participants[1] 'a@b.com': role must be one of project_admin, org_admin, lead, member",
    );
    expect(error(yml(server, "  - { name: a@b.com, type: admin, org: a }"))).toBe(
      "p.yml: participants[1] 'a@b.com': role is required",
    );
    expect(error(yml(server, "  - { name: alice, type: admin, org: a, role: lead }"))).toMatch(
      /participants\[1\] 'alice': name must be an email address/,
    );
    expect(error(yml(server, "  - { name: ../x, type: client, org: a }"))).toMatch(
      /participants\[1\] '..\/x': name must be letters, digits/,
    );
    expect(error(yml(server, "  - { name: site-1, type: robot, org: a }"))).toMatch(
      /participants\[1\] 'site-1': type must be server, client or admin/,
    );
    expect(error(yml(server, "  - { name: site-1, type: client }"))).toBe(
      "p.yml: participants[1] 'site-1': org is required",
    );
    expect(error(yml(server.replace("9000", "70000")))).toMatch(/'server1': port too big/);
    expect(
      error(yml(server, "  - { name: s, type: client, org: a, resources: { gpus: -1 } }")),
    ).toMatch(/'s': resources.gpus too small/);
  });

  it("refuses a missing name, an empty file and bad YAML", () => {
    expect(error(`participants:\n${server}`)).toBe("p.yml: name is required");
    expect(error("")).toBe("p.yml: is empty");
    expect(error("name: demo\nparticipants: [ { name: x")).toMatch(
      /^p.yml: not valid YAML: .*line \d+/,
    );
  });
});

describe("loadProject", () => {
  it("names a missing file", async () => {
    const path = join(await mkdtemp(join(tmpdir(), "fedbridge-project-")), "nope.yml");
    await expect(loadProject(path)).rejects.toThrow(`${path}: cannot read (no such file)`);
  });
});
