import type { Command } from "commander";
import { startFleetShim } from "../bridge/fleet-shim.ts";
import type { LogFormat } from "../core/logger.ts";
import { integer, logFormatOption, positiveNumber } from "./options.ts";
import { untilSignal } from "./superlink.ts";

export function registerBridge(program: Command): void {
  program
    .command("bridge")
    .description(
      "a site whose ClientApps run in SuperNodes: serves Flower's Fleet API locally, dials the server as the site",
    )
    .requiredOption("--kit <dir>", "the site's startup kit")
    .option("--fleet-api-address <host:port>", "where SuperNodes connect", "127.0.0.1:9092")
    .option("--port <port>", "dial this server port instead of the kit's", integer)
    .option(
      "--node-grace <seconds>",
      "how long a message waits for a SuperNode to connect before it is answered NODE_UNAVAILABLE",
      positiveNumber,
      10,
    )
    .addOption(logFormatOption())
    .action(
      async (flags: {
        kit: string;
        fleetApiAddress: string;
        port?: number;
        nodeGrace: number;
        logFormat?: LogFormat;
      }) => {
        const shim = await startFleetShim({
          kitDir: flags.kit,
          fleetApiAddress: flags.fleetApiAddress,
          nodeGraceMs: flags.nodeGrace * 1000,
          ...(flags.port === undefined ? {} : { serverPort: flags.port }),
          ...(flags.logFormat ? { logFormat: flags.logFormat } : {}),
        });
        await untilSignal();
        await shim.close();
      },
    );
}
