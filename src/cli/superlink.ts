import { type Command, Option } from "commander";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { createLogger, type LogFormat } from "../core/logger.ts";
import { startSuperLink, type TlsFiles } from "../flower-api/superlink/superlink.ts";
import { setHostTrackingSink } from "../tracking/index.ts";
import { logFormatOption, positiveInt } from "./options.ts";
import { readPem } from "./tls-flags.ts";

interface SuperLinkFlags {
  insecure?: boolean;
  sslCertfile?: string;
  sslKeyfile?: string;
  sslCaCertfile?: string;
  fleetApiAddress: string;
  controlApiAddress: string;
  serverappioApiAddress?: string;
  isolation?: "subprocess" | "process";
  pullWaitMs?: number;
  database?: string;
  webAddress?: string;
  webOrigin?: string[];
  logFormat?: LogFormat;
}

export function registerSuperLink(program: Command): void {
  program
    .command("superlink")
    .description(
      "the native deployment's server: Flower's Fleet API for SuperNodes and the control API for runs",
    )
    .option("--insecure", "serve without TLS")
    .option("--ssl-certfile <file>", "server certificate (PEM)")
    .option("--ssl-keyfile <file>", "server private key (PEM)")
    .option("--ssl-ca-certfile <file>", "CA certificate (PEM)")
    .option("--fleet-api-address <host:port>", "where SuperNodes connect", "0.0.0.0:9092")
    .option(
      "--control-api-address <host:port>",
      "where `fedbridge run --superlink` connects",
      "0.0.0.0:9093",
    )
    .option(
      "--database <path>",
      "SQLite file keeping nodes, runs and reply journals: a SuperLink restarted on it resumes its runs (default: in memory, lost at a restart)",
    )
    .option(
      "--serverappio-api-address <host:port>",
      "where Flower's ServerApp processes (flwr-serverapp) connect; plaintext, keep it on loopback (default: 127.0.0.1, a free port; 127.0.0.1:9091 with --isolation process)",
    )
    .addOption(
      new Option(
        "--isolation <mode>",
        "who starts a Python ServerApp's process: this SuperLink (subprocess: flwr-serverapp from FEDBRIDGE_FLOWER_BIN or PATH) or an outside flower-superexec (process)",
      )
        .choices(["subprocess", "process"])
        .default("subprocess"),
    )
    .option("--pull-wait-ms <ms>", "how long an idle node's PullMessages is held open", positiveInt)
    .option(
      "--web-address <host:port>",
      "also serve the Fleet API to web pages (Connect protocol; see `fedbridge web-node`)",
    )
    .option(
      "--web-origin <origin...>",
      "page origins allowed to call --web-address, e.g. http://127.0.0.1:8080 (others are refused)",
    )
    .addOption(logFormatOption())
    .action(async (flags: SuperLinkFlags) => {
      const log = createLogger({
        name: "superlink",
        ...(flags.logFormat ? { format: flags.logFormat } : {}),
      });
      const superlink = await startSuperLink({
        fleetApiAddress: flags.fleetApiAddress,
        controlApiAddress: flags.controlApiAddress,
        ...(flags.serverappioApiAddress
          ? { serverAppIoApiAddress: flags.serverappioApiAddress }
          : {}),
        ...(flags.isolation ? { isolation: flags.isolation } : {}),
        ...(flags.pullWaitMs ? { pullWaitMs: flags.pullWaitMs } : {}),
        ...(flags.database ? { database: flags.database } : {}),
        log: (line) => log.info(line),
        ...(flags.webAddress ? { webAddress: flags.webAddress } : {}),
        ...(flags.webOrigin ? { webOrigins: flags.webOrigin } : {}),
        ...(await tls(flags)),
      });
      // A ServerApp's own SummaryWriter goes to its run's follower (`run --superlink --out`).
      setHostTrackingSink({ write: (event) => superlink.trackServerApp([event]) });
      const web =
        superlink.webPort === undefined
          ? ""
          : `, Fleet API for browsers on port ${superlink.webPort}`;
      log.info(
        flags.database
          ? `keeping nodes, runs and reply journals in ${flags.database}: a SuperLink restarted on it resumes its runs`
          : "no --database: nodes, runs and replies are kept in memory only, and a restart of this SuperLink loses them",
      );
      log.info(
        `SuperLink: Fleet API on port ${superlink.fleetPort}, control API on port ${superlink.controlPort}, ServerAppIo API on port ${superlink.serverAppIoPort}${web}`,
      );
      await untilSignal();
      await superlink.close();
    });
}

async function tls(flags: SuperLinkFlags): Promise<{ tls?: TlsFiles }> {
  const files = [flags.sslCertfile, flags.sslKeyfile, flags.sslCaCertfile];
  if (flags.insecure) {
    if (files.some((f) => f !== undefined))
      throw new FedbridgeError(Code.InvalidArgument, "--insecure excludes the --ssl-* flags");
    return {};
  }
  if (flags.sslCertfile === undefined || flags.sslKeyfile === undefined) {
    throw new FedbridgeError(
      Code.InvalidArgument,
      "choose --insecure, or give --ssl-certfile and --ssl-keyfile (and --ssl-ca-certfile)",
    );
  }
  return {
    tls: {
      certChain: await readPem("--ssl-certfile", flags.sslCertfile),
      privateKey: await readPem("--ssl-keyfile", flags.sslKeyfile),
      ...(flags.sslCaCertfile
        ? { rootCerts: await readPem("--ssl-ca-certfile", flags.sslCaCertfile) }
        : {}),
    },
  };
}

/** Resolves on SIGINT or SIGTERM, so a server shuts down cleanly. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
