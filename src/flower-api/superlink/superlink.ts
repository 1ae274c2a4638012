import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { boundedServerOptions } from "../../core/wire/grpc-server-options.ts";
import { rawServiceDefinition } from "../../core/wire/grpc-service.ts";
import { Control, NodeTracking, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { createControlServicer } from "../control/control-servicer.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { ObjectStore } from "../objects/object-store.ts";
import { createFleetHandlers, createFleetServicer } from "./fleet-servicer.ts";
import { type FleetWeb, startFleetWeb } from "./fleet-web.ts";
import { MessageRouter } from "./message-router.ts";
import { NodeRegistry } from "./node-registry.ts";
import { createNodeTrackingServicer } from "./node-tracking-servicer.ts";
import { CONTROL_MAX_REQUEST_BYTES, FLEET_MAX_REQUEST_BYTES } from "./request-limits.ts";
import { RunRegistry } from "./run-registry.ts";
import { runOfCaller } from "./server-app-runner.ts";

/** TLS material for both APIs, as PEM bytes. */
export interface TlsFiles {
  certChain: Buffer;
  privateKey: Buffer;
  /** CA certificate; with it the server also accepts client certificates signed by it. */
  rootCerts?: Buffer;
}

export interface SuperLinkOptions {
  /** Fleet API address. Default: 0.0.0.0:9092 (Flower's). */
  fleetApiAddress?: string;
  /** Control API address. Default: 0.0.0.0:9093. */
  controlApiAddress?: string;
  /** TLS for both APIs; without it they are plaintext (`--insecure`). */
  tls?: TlsFiles;
  /** How long PullMessages holds an idle node's call, in ms. Default: 10 000. */
  pullWaitMs?: number;
  /** Folder for unpacked app bundles. Default: a new temporary folder, removed on close. */
  workDir?: string;
  /**
   * Also serve the Fleet API to browsers (Connect protocol over HTTP/1.1, fleet-web.ts) on this
   * host:port, with the TLS certificate of the other APIs when given. Default: not served.
   */
  webAddress?: string;
  /** Page origins allowed to call `webAddress` (CORS); required with it. */
  webOrigins?: readonly string[];
}

export interface SuperLink {
  fleetPort: number;
  controlPort: number;
  /** The port of the Fleet API for browsers, when `webAddress` was given. */
  webPort?: number;
  /**
   * Tracking events of the ServerApp code now calling (an app's SummaryWriter): they become
   * events of its run, as the server's ("node" 1). Outside a run's code they are dropped.
   */
  trackServerApp(events: readonly object[]): void;
  close(): Promise<void>;
}

/**
 * The native deployment's server: the Fleet API for SuperNodes (Flower 1.28's wire protocol)
 * and the control API for `fedbridge run --superlink`. Runs' ServerApps execute here.
 */
export async function startSuperLink(options: SuperLinkOptions = {}): Promise<SuperLink> {
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "fedbridge-superlink-")));
  const nodes = new NodeRegistry();
  const runs = new RunRegistry();
  const objects = new ObjectStore();
  const router = new MessageRouter(objects, nodes);
  const credentials = options.tls
    ? ServerCredentials.createSsl(
        options.tls.rootCerts ?? null,
        [{ cert_chain: options.tls.certChain, private_key: options.tls.privateKey }],
        false,
      )
    : ServerCredentials.createInsecure();

  const fleet = new Server(
    boundedServerOptions(FLEET_MAX_REQUEST_BYTES, { "grpc.max_concurrent_streams": 1000 }),
  );
  fleet.addService(rawServiceDefinition(NodeTracking), createNodeTrackingServicer({ nodes, runs }));
  fleet.addService(
    rawServiceDefinition(Fleet),
    createFleetServicer({ nodes, runs, router, objects }, options),
  );
  if (options.webOrigins !== undefined && options.webAddress === undefined) {
    throw new FedbridgeError(Code.InvalidArgument, "--web-origin needs --web-address");
  }
  const control = new Server(boundedServerOptions(CONTROL_MAX_REQUEST_BYTES));
  control.addService(
    rawServiceDefinition(Control),
    createControlServicer({ runs, router, nodes, workDir }),
  );

  const fleetPort = await bind(
    fleet,
    options.fleetApiAddress ?? "0.0.0.0:9092",
    credentials,
    "Fleet API",
  );
  const controlPort = await bind(
    control,
    options.controlApiAddress ?? "0.0.0.0:9093",
    credentials,
    "control API",
  );
  let web: FleetWeb | undefined;
  if (options.webAddress !== undefined) {
    const handlers = createFleetHandlers({ nodes, runs, router, objects }, options);
    web = await startFleetWeb(handlers, {
      address: options.webAddress,
      origins: options.webOrigins ?? [],
      ...(options.tls ? { tls: options.tls } : {}),
    }).catch((error) => {
      fleet.forceShutdown();
      control.forceShutdown();
      throw error;
    });
  }
  return {
    fleetPort,
    controlPort,
    ...(web ? { webPort: web.port } : {}),
    trackServerApp(events) {
      const run = runOfCaller();
      if (run === undefined || run.status !== "running") return;
      const value = { nodeId: SERVER_NODE_ID, eventsJson: JSON.stringify(events) };
      runs.emit(run, create(RunEventSchema, { event: { case: "tracking", value } }));
    },
    async close() {
      nodes.close();
      await web?.close();
      fleet.forceShutdown();
      control.forceShutdown();
      if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

function bind(
  server: Server,
  address: string,
  credentials: ServerCredentials,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => {
      if (error)
        reject(
          new FedbridgeError(
            Code.Unavailable,
            `cannot listen for the ${what} on ${address}: ${error.message}`,
          ),
        );
      else resolve(port);
    });
  });
}
