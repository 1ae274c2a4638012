import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KIT_FILES } from "./kit-config.ts";
import { provisionProject } from "./provision.ts";
import { readStartupKit } from "./read-startup-kit.ts";

describe("readStartupKit", () => {
  it("names the file and the field of a damaged kit, and a folder that is no kit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-kit-"));
    await writeFile(
      join(dir, "project.yml"),
      "name: p\nparticipants:\n  - { name: s, type: server, org: o }\n  - { name: c, type: client, org: o }\n",
    );
    const { kits } = await provisionProject(join(dir, "project.yml"), join(dir, "ws"));
    const site = kits[1]?.kit ?? "";
    const loaded = await readStartupKit(site);
    expect(loaded.type).toBe("client");
    expect(loaded.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const config = join(site, KIT_FILES.client);
    const json = JSON.parse(await readFile(config, "utf8"));
    await writeFile(config, JSON.stringify({ ...json, server: { ...json.server, port: "x" } }));
    await expect(readStartupKit(site)).rejects.toThrow(`${config}: server.port: `);
    await rm(join(site, KIT_FILES.key));
    await expect(readStartupKit(site)).rejects.toThrow(`startup kit ${site}: key.pem missing`);
    await expect(readStartupKit(dir)).rejects.toThrow(`${dir} is not a startup kit`);
  });
});
