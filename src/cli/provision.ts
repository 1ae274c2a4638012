import { relative } from "node:path";
import type { Command } from "commander";
import { provisionProject } from "../flare-runtime/provision/index.ts";

interface ProvisionFlags {
  out: string;
  force?: boolean;
  json?: boolean;
}

export function registerProvision(program: Command): void {
  program
    .command("provision")
    .description(
      "the runtime's root CA and one startup kit per participant of PROJECT_YML (docs/runtime.md)",
    )
    .argument("<PROJECT_YML>", "the project: its name and participants")
    .option(
      "-o, --out <workspace>",
      "where WORKSPACE/<project>/<participant>/ kits go",
      "workspace",
    )
    .option("--force", "issue the kits of an existing project again (its CA is kept)")
    .option("--json", "print the kits as JSON: [{ name, type, kit }]")
    .action(async (projectYml: string, flags: ProvisionFlags) => {
      const result = await provisionProject(projectYml, flags.out, {
        ...(flags.force ? { force: true } : {}),
      });
      if (flags.json) {
        console.log(JSON.stringify(result.kits, null, 2));
        return;
      }
      const ca = result.reusedCa ? "kept its CA" : "new CA";
      console.log(`project '${result.project}' (${ca}): ${result.kits.length} startup kits`);
      for (const kit of result.kits) {
        console.log(
          `  ${kit.type.padEnd(6)} ${kit.name.padEnd(24)} ${relative(".", kit.kit) || "."}`,
        );
      }
    });
}
