import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAppManifest } from "../flower-api/app/load-app.ts";
import { bundleWebNode } from "./bundle-web-node.ts";

describe("bundleWebNode (an app's ClientApp for the browser)", () => {
  it("bundles examples/quickstart with no Node module in it", async () => {
    const { page, worker } = await bundleWebNode(await readAppManifest("examples/quickstart"));
    expect(page).toContain("startWebNodePage");
    expect(worker).toContain("startClientAppWebWorker");
    for (const script of [page, worker])
      expect(script).not.toMatch(/\bfrom\s*["']node:|\brequire\(["']node:/);
  });

  it("refuses a ClientApp that needs a Node module, naming the module and the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-node-only-"));
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({
        name: "node-only",
        fedbridge: { serverapp: "./client.ts", clientapp: "./client.ts", config: {} },
      }),
    );
    await writeFile(
      join(dir, "client.ts"),
      'import { readFileSync } from "node:fs";\nimport { ClientApp } from "fedbridge";\nexport const app = new ClientApp();\nreadFileSync;\n',
    );
    await expect(bundleWebNode(await readAppManifest(dir))).rejects.toThrow(
      /cannot bundle node-only's ClientApp for the browser: .*client\.ts: Could not resolve "node:fs"/,
    );
  });
});
