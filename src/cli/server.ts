import type { Command } from "commander";
import { BRIDGE_RUNNERS } from "../bridge/index.ts";
import type { LogFormat } from "../core/logger.ts";
import { startServerParent } from "../flare-runtime/server/server-parent.ts";
import { createJobTracking } from "../tracking/index.ts";
import { integer, logFormatOption, positiveNumber } from "./options.ts";
import { untilSignal } from "./superlink.ts";

export function registerServer(program: Command): void {
  program
    .command("server")
    .description(
      "the runtime's server parent: the sites' cells and the admin API on one mTLS port, jobs, scheduler",
    )
    .requiredOption("--kit <dir>", "the server's startup kit")
    .option(
      "--workspace <dir>",
      "where jobs, the job store and the audit log live (default: the kit)",
    )
    .option("--port <port>", "listen on this port instead of the kit's (0: any free port)", integer)
    .option("--host <host>", "listen on this address (default: all)")
    .option(
      "--heartbeat-interval <seconds>",
      "heartbeats with the sites (default 5)",
      positiveNumber,
    )
    .addOption(logFormatOption())
    .action(
      async (flags: {
        kit: string;
        workspace?: string;
        port?: number;
        host?: string;
        heartbeatInterval?: number;
        logFormat?: LogFormat;
      }) => {
        const server = await startServerParent({
          kitDir: flags.kit,
          runners: BRIDGE_RUNNERS,
          tracking: createJobTracking,
          ...(flags.workspace ? { workspace: flags.workspace } : {}),
          ...(flags.port === undefined ? {} : { port: flags.port }),
          ...(flags.host ? { host: flags.host } : {}),
          ...(flags.logFormat ? { logFormat: flags.logFormat } : {}),
          ...(flags.heartbeatInterval
            ? { heartbeatIntervalMs: flags.heartbeatInterval * 1000 }
            : {}),
        });
        await untilSignal();
        await server.close();
      },
    );
}
