import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runFedbridge } from "./run-fedbridge.ts";

const SERVER = "  - { name: server1, type: server, org: org-a, host: 127.0.0.1, port: 8002 }";
const PROJECT = [
  "name: demo",
  "participants:",
  SERVER,
  "  - { name: site-1, type: client, org: org-a }",
  "  - { name: site-2, type: client, org: org-b }",
  "  - { name: admin@org-a.com, type: admin, org: org-a, role: project_admin }",
  "  - { name: lead@org-b.com, type: admin, org: org-b, role: lead }",
].join("\n");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "fedbridge-provision-cli-"));
});

async function project(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("fedbridge provision", () => {
  it("writes the kits, lists them, refuses to overwrite them without --force", async () => {
    const yml = await project("project.yml", PROJECT);
    const ws = join(dir, "ws");
    const first = await runFedbridge(["provision", yml, "-o", ws]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^project 'demo' \(new CA\): 5 startup kits\n/);
    expect(first.stdout).toMatch(/ {2}admin {2}lead@org-b\.com +\S+lead@org-b\.com\n$/);
    expect((await readdir(join(ws, "demo"))).sort()).toEqual(
      [".ca", "admin@org-a.com", "lead@org-b.com", "server1", "site-1", "site-2"].sort(),
    );

    const again = await runFedbridge(["provision", yml, "-o", ws]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toBe(
      `fedbridge: ${join(ws, "demo")} already exists (use --force to issue its kits again with the same CA) [already_exists]\n`,
    );

    const forced = await runFedbridge(["provision", yml, "-o", ws, "--force", "--json"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual(
      [
        ["server1", "server"],
        ["site-1", "client"],
        ["site-2", "client"],
        ["admin@org-a.com", "admin"],
        ["lead@org-b.com", "admin"],
      ].map(([name, type]) => ({ name, type, kit: join(ws, "demo", name as string) })),
    );
  });

  const bad: [string, string | undefined, RegExp][] = [
    [
      "two servers",
      `name: demo\nparticipants:\n${SERVER}\n${SERVER.replace("server1", "server2")}`,
      /exactly one participant of type server is needed, found 2/,
    ],
    [
      "a name used twice",
      `name: demo\nparticipants:\n${SERVER}\n  - { name: server1, type: client, org: a }`,
      /participant 'server1': name already used by 'server1'/,
    ],
    [
      "an admin with an unknown role",
      `name: demo\nparticipants:\n${SERVER}\n  - { name: a@b.com, type: admin, org: a, role: root }`,
      /participants\[1\] 'a@b.com': role must be one of project_admin, org_admin, lead, member/,
    ],
    ["no project name", `participants:\n${SERVER}`, /: name is required/],
    ["a YAML syntax error", `name: demo\nparticipants:\n  - { name: x`, /: not valid YAML: .*line/],
    ["a missing file", undefined, /: cannot read \(no such file\)/],
  ];
  it.each(bad)("refuses %s with one line and writes nothing", async (label, text, message) => {
    const file = `${label.replace(/\W+/g, "-")}.yml`;
    const path = text === undefined ? join(dir, file) : await project(file, text);
    const ws = join(dir, `ws-${file}`);
    const result = await runFedbridge(["provision", path, "-o", ws]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(
      new RegExp(`^fedbridge: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `),
    );
    await expect(readdir(ws)).rejects.toThrow(/ENOENT/);
  });
});
