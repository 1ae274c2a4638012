import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createLogger, type LogFormat } from "../core/logger.ts";
import { startGrpcHttp2Server } from "../core/wire/grpc-http2-server.ts";
import { readSiteKit } from "../flare-runtime/site/read-site-kit.ts";
import { serveSite } from "../flare-runtime/site/site-service.ts";
import { ObjectStore } from "../flower-api/objects/object-store.ts";
import { createFleetApi, fleetServerOptions } from "../flower-api/superlink/fleet-servicer.ts";
import { MessageRouter } from "../flower-api/superlink/message-router.ts";
import { NodeRegistry } from "../flower-api/superlink/node-registry.ts";
import { RunRegistry } from "../flower-api/superlink/run-registry.ts";
import { SuperNodeJobs } from "./supernode-jobs.ts";

export interface FleetShimOptions {
  /** The site's startup kit: the shim is this site to the server. */
  kitDir: string;
  /** Where tasks wait on their way to and from the SuperNodes. Default: the kit folder. */
  workspace?: string;
  /** Where SuperNodes connect (Flower's Fleet API). Default: 127.0.0.1:9092. */
  fleetApiAddress?: string;
  /** Dial this server port instead of the kit's (tests). */
  serverPort?: number;
  /**
   * How long a message waits for a SuperNode to connect before it is answered
   * NODE_UNAVAILABLE, in ms. Default: 10,000.
   */
  nodeGraceMs?: number;
  /** How stdout shows the log. Default: see createLogger. */
  logFormat?: LogFormat;
}

export interface FleetShim {
  fleetPort: number;
  close(): Promise<void>;
}

/**
 * `fedbridge bridge`: a site whose ClientApps run in SuperNodes (ours, or Flower's own) that
 * connect to a local Fleet API. To the server it is the site — the same site service as a
 * site parent's (deploy checks, reconciling, stops), with the connected SuperNodes in place
 * of job processes; to the SuperNodes it is a SuperLink. The site needs no inbound port from
 * outside.
 */
export async function startFleetShim(options: FleetShimOptions): Promise<FleetShim> {
  const kit = await readSiteKit(options.kitDir);
  const workspace = options.workspace ?? kit.dir;
  mkdirSync(join(workspace, "transfer"), { recursive: true });
  const log = createLogger({
    name: `${kit.config.name}/bridge`,
    base: { site: kit.config.name, role: "bridge" },
    ...(options.logFormat ? { format: options.logFormat } : {}),
  });
  const nodes = new NodeRegistry();
  const runs = new RunRegistry();
  const objects = new ObjectStore();
  const router = new MessageRouter(objects, nodes);

  const fleet = await startGrpcHttp2Server(
    options.fleetApiAddress ?? "127.0.0.1:9092",
    createFleetApi({ nodes, runs, router, objects }).routes,
    fleetServerOptions(),
  );
  const fleetPort = fleet.port;

  // Say when the site has no SuperNode to serve its tasks, and when it has one again.
  let serving = false;
  nodes.onChange(() => {
    const online = nodes.onlineNodeIds().length > 0;
    if (online !== serving)
      log[online ? "info" : "warn"](
        online ? "a SuperNode is connected" : "no SuperNode connected to this site's bridge",
      );
    serving = online;
  });
  log.warn("no SuperNode connected to this site's bridge yet");

  const jobs = new SuperNodeJobs({
    kit,
    fleet: { nodes, runs, router, port: fleetPort },
    nodeGraceMs: options.nodeGraceMs ?? 10_000,
    log,
  });
  const cell = serveSite({
    kit,
    jobs,
    log,
    ...(options.serverPort === undefined ? {} : { port: options.serverPort }),
  });
  log.info(`bridge for site ${kit.config.name}: Fleet API on port ${fleetPort}`);
  return {
    fleetPort,
    async close() {
      await jobs.close();
      nodes.close();
      await fleet.close();
      await cell.close();
    },
  };
}
