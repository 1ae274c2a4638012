import type { Command } from "commander";
import { BRIDGE_RUNNERS } from "../bridge/index.ts";
import type { LogFormat } from "../core/logger.ts";
import { startSiteParent } from "../flare-runtime/site/site-parent.ts";
import { integer, logFormatOption } from "./options.ts";
import { untilSignal } from "./superlink.ts";

export function registerClient(program: Command): void {
  program
    .command("client")
    .description("a runtime site parent: dials the server, runs the jobs deployed to this site")
    .requiredOption("--kit <dir>", "the site's startup kit")
    .option("--workspace <dir>", "where jobs run (default: the kit)")
    .option("--port <port>", "dial this port instead of the kit's", integer)
    .addOption(logFormatOption())
    .action(
      async (flags: { kit: string; workspace?: string; port?: number; logFormat?: LogFormat }) => {
        const site = await startSiteParent({
          kitDir: flags.kit,
          runners: BRIDGE_RUNNERS,
          ...(flags.workspace ? { workspace: flags.workspace } : {}),
          ...(flags.port === undefined ? {} : { port: flags.port }),
          ...(flags.logFormat ? { logFormat: flags.logFormat } : {}),
        });
        await untilSignal();
        await site.close();
      },
    );
}
