import { type Command, Option } from "commander";
import { createLogger, type LogFormat } from "../core/logger.ts";
import { startWebNode } from "../web-node/web-node-server.ts";
import { integer, logFormatOption, positiveNumber } from "./options.ts";
import { untilSignal } from "./superlink.ts";

interface WebNodeFlags {
  superlink: string;
  port: number;
  host: string;
  heartbeatInterval?: number;
  tfjsBackend: string;
  logFormat?: LogFormat;
}

export function registerWebNode(program: Command): void {
  program
    .command("web-node")
    .argument("<app>", "the app folder; its ClientApp is bundled for the browser")
    .description(
      "serves a web page whose every tab is a SuperNode of a SuperLink (the app's ClientApp runs in the page); a tab's node config is its query string, e.g. /?partition-id=0&num-partitions=3",
    )
    .requiredOption(
      "--superlink <url>",
      "the SuperLink's Fleet API for browsers (its --web-address), e.g. http://127.0.0.1:9095",
    )
    .option("--port <port>", "the page's port (0: any free one)", integer, 8080)
    .option("--host <host>", "the interface to listen on", "127.0.0.1")
    .option(
      "--heartbeat-interval <seconds>",
      "seconds between a tab's heartbeats; a closed tab counts as lost after twice this (default 10)",
      positiveNumber,
    )
    .addOption(
      new Option(
        "--tfjs-backend <name>",
        "the TensorFlow.js backend of the pages' ClientApps: auto is WebGPU or WebGL where the browser has them, else wasm",
      )
        .choices(["auto", "webgpu", "webgl", "wasm", "cpu"])
        .default("auto"),
    )
    .addOption(logFormatOption())
    .action(async (appDir: string, flags: WebNodeFlags) => {
      const log = createLogger({
        name: "web-node",
        ...(flags.logFormat ? { format: flags.logFormat } : {}),
      });
      log.info(`bundling ${appDir}'s ClientApp for the browser`);
      const server = await startWebNode({
        appDir,
        superlink: flags.superlink,
        port: flags.port,
        host: flags.host,
        ...(flags.heartbeatInterval ? { heartbeatInterval: flags.heartbeatInterval } : {}),
        tfjsBackend: flags.tfjsBackend,
      });
      log.info(
        `web node page on ${server.url} (the SuperLink must allow it: --web-origin ${server.origin})`,
      );
      await untilSignal();
      await server.close();
    });
}
