import type { Command } from "commander";
import { createLogger, type LogFormat } from "../core/logger.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import { parseConfigOverrides } from "../flower-api/app/run-config.ts";
import { SuperNode } from "../flower-api/supernode/supernode.ts";
import { RUN_TRACKING_SETUP_URL } from "../tracking/flower-runs/run-tracking.ts";
import { logFormatOption, positiveNumber } from "./options.ts";
import { untilSignal } from "./superlink.ts";
import { channelSecurity } from "./tls-flags.ts";

interface SuperNodeFlags {
  superlink: string;
  insecure?: boolean;
  rootCertificates?: string;
  nodeConfig?: UserConfig;
  heartbeatInterval?: number;
  inline: boolean;
  logFormat?: LogFormat;
}

export function registerSuperNode(program: Command): void {
  program
    .command("supernode")
    .description("a native deployment node: dials a SuperLink and runs the ClientApps of its runs")
    .requiredOption("--superlink <host:port>", "the SuperLink's Fleet API")
    .option("--insecure", "connect without TLS")
    .option("--no-inline", "make exactly a Flower 1.28 SuperNode's calls (no whole small messages)")
    .option("--root-certificates <file>", "CA certificate of the SuperLink (PEM)")
    .option(
      "--node-config <pairs>",
      'this node\'s config, e.g. "partition-id=0 num-partitions=3"',
      (v) => parseConfigOverrides(v, "--node-config"),
    )
    .option(
      "--heartbeat-interval <seconds>",
      "expected seconds between heartbeats (default 30)",
      positiveNumber,
    )
    .addOption(logFormatOption())
    .action(async (flags: SuperNodeFlags) => {
      const log = createLogger({
        name: "supernode",
        ...(flags.logFormat ? { format: flags.logFormat } : {}),
      });
      const node = new SuperNode({
        superlink: flags.superlink,
        security: await channelSecurity(flags),
        nodeConfig: flags.nodeConfig ?? {},
        inline: flags.inline,
        ...(flags.heartbeatInterval ? { heartbeatInterval: flags.heartbeatInterval } : {}),
        log: (line) => log.info(line),
        // An app's SummaryWriter goes to the run's follower (`run --superlink --out`).
        workerSetup: { url: RUN_TRACKING_SETUP_URL, data: { forward: {} } },
      });
      const running = node.run();
      await Promise.race([untilSignal(), running]);
      await node.stop();
      await running;
    });
}
