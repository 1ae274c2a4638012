import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { startGrpcHttp2Server } from "../../core/wire/grpc-http2-server.ts";
import { boundedServerOptions } from "../../core/wire/grpc-server-options.ts";
import { rawServiceDefinition, unaryRoutes } from "../../core/wire/grpc-service.ts";
import { Control, NodeTracking, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { Control as FlowerControl } from "../../gen/flwr/proto/control_pb.ts";
import { ServerAppIo } from "../../gen/flwr/proto/serverappio_pb.ts";
import { createControlServicer } from "../control/control-servicer.ts";
import { createFlowerControlServicer } from "../control/flower-control-servicer.ts";
import { SERVER_NODE_ID } from "../message/metadata.ts";
import { ObjectStore } from "../objects/object-store.ts";
import { AppTokens } from "./app-tokens.ts";
import { FinalResults } from "./final-results.ts";
import { createFleetApi, fleetServerOptions } from "./fleet-servicer.ts";
import { type FleetWeb, startFleetWeb } from "./fleet-web.ts";
import { createFlowerServerAppLauncher } from "./flower-serverapp-process.ts";
import { MessageRouter } from "./message-router.ts";
import { NodeRegistry } from "./node-registry.ts";
import { createNodeTrackingHandlers } from "./node-tracking-servicer.ts";
import { CONTROL_MAX_REQUEST_BYTES, FLEET_MAX_REQUEST_BYTES } from "./request-limits.ts";
import { resumeRuns } from "./resume-runs.ts";
import { type RunRecord, RunRegistry } from "./run-registry.ts";
import { isReplaying, runOfCaller } from "./server-app-runner.ts";
import { createServerAppIoServicer } from "./serverappio-servicer.ts";
import { SuperLinkDatabase } from "./superlink-database.ts";

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
  /**
   * ServerAppIo API address, for Flower's ServerApp processes. Always plaintext and, as in
   * Flower 1.28, authenticated only by each run's token: keep it on loopback. Default:
   * 127.0.0.1 on a free port, told to the processes this SuperLink starts; with isolation
   * "process", 127.0.0.1:9091 (Flower's port), where an outside launcher finds it.
   */
  serverAppIoApiAddress?: string;
  /**
   * Who starts the ServerApp process of a run whose app has a Python ServerApp: "subprocess"
   * (this SuperLink, with flwr-serverapp from FEDBRIDGE_FLOWER_BIN or PATH) or "process"
   * (someone else, e.g. Flower's flower-superexec, polling ListAppsToLaunch). Default:
   * "subprocess". Flower's `--isolation`.
   */
  isolation?: "subprocess" | "process";
  /** TLS for both APIs; without it they are plaintext (`--insecure`). */
  tls?: TlsFiles;
  /** How long PullMessages holds an idle node's call, in ms. Default: 10 000. */
  pullWaitMs?: number;
  /** Folder for unpacked app bundles. Default: a new temporary folder, removed on close. */
  workDir?: string;
  /**
   * SQLite file that keeps nodes, runs and each run's reply journal, so that a SuperLink
   * started again on it resumes the runs that were running. Default: none, everything in
   * memory (as Flower's default), lost at a restart.
   */
  database?: string;
  /** Reports what the SuperLink does on its own (resuming runs). Default: silent. */
  log?: (line: string) => void;
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
  serverAppIoPort: number;
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
 * and, on the control port, both the control API for `fedbridge run --superlink` and Flower's
 * Control API for `flwr run`, `flwr ls`, `flwr log` and `flwr stop`. Runs' ServerApps execute here.
 */
export async function startSuperLink(options: SuperLinkOptions = {}): Promise<SuperLink> {
  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "fedbridge-superlink-")));
  const database =
    options.database === undefined ? undefined : new SuperLinkDatabase(options.database);
  const nodes = new NodeRegistry(database === undefined ? {} : { store: database });
  if (database !== undefined) nodes.restore(database.nodes());
  const log = options.log ?? (() => {});
  const finals = new FinalResults(join(workDir, "final-models"), log);
  const runs = new RunRegistry(
    database,
    (error) => log(`cannot write the SuperLink database ${options.database}: ${error.message}`),
    finals,
  );
  const objects = new ObjectStore();
  const router = new MessageRouter(objects, nodes);
  const credentials = options.tls
    ? ServerCredentials.createSsl(
        options.tls.rootCerts ?? null,
        [{ cert_chain: options.tls.certChain, private_key: options.tls.privateKey }],
        false,
      )
    : ServerCredentials.createInsecure();

  // One set of Fleet handlers, served over gRPC and, with webAddress, to browsers.
  const fleetApi = createFleetApi({ nodes, runs, router, objects }, options);
  const fleetRoutes = new Map([
    ...fleetApi.routes,
    ...unaryRoutes(NodeTracking, createNodeTrackingHandlers({ nodes, runs })),
  ]);
  /** Ends a run whose ServerApp process failed or went silent. */
  const failRun = (run: RunRecord, details: string) => {
    if (run.status === "finished") return;
    const value = { status: "failed", details };
    runs.emit(run, create(RunEventSchema, { event: { case: "runFinished", value } }));
    runs.finish(run, "failed", details);
    router.dropRun(run.runId);
  };
  const tokens = new AppTokens(runs, failRun);
  const serverAppIo = new Server(boundedServerOptions(FLEET_MAX_REQUEST_BYTES));
  serverAppIo.addService(
    rawServiceDefinition(ServerAppIo),
    createServerAppIoServicer({ runs, router, nodes, objects, tokens }, options),
  );
  const serverAppIoAddress =
    options.serverAppIoApiAddress ??
    (options.isolation === "process" ? "127.0.0.1:9091" : "127.0.0.1:0");
  const serverAppIoHost = serverAppIoAddress.replace(/:\d+$/, "");
  let serverAppIoPort = 0;
  const launcher = createFlowerServerAppLauncher({
    runs,
    tokens,
    fail: failRun,
    serverAppIoAddress: () =>
      `${/^(0\.0\.0\.0|\[::\])$/.test(serverAppIoHost) ? "127.0.0.1" : serverAppIoHost}:${serverAppIoPort}`,
    flwrHome: join(workDir, "flwr-home"),
  });
  const pythonServerApps =
    options.isolation === "process"
      ? {
          // An outside launcher (flower-superexec) polls ListAppsToLaunch: say it is awaited.
          check() {},
          launch(run: RunRecord) {
            const value = `run ${run.runId} is pending: waiting for a ServerApp launcher (flower-superexec --plugin-type serverapp --appio-api-address 127.0.0.1:${serverAppIoPort}) to take it`;
            runs.emit(run, create(RunEventSchema, { event: { case: "waiting", value } }));
          },
          close() {},
        }
      : launcher;
  if (options.webOrigins !== undefined && options.webAddress === undefined) {
    throw new FedbridgeError(Code.InvalidArgument, "--web-origin needs --web-address");
  }
  const control = new Server(boundedServerOptions(CONTROL_MAX_REQUEST_BYTES));
  const controlState = {
    runs,
    router,
    nodes,
    workDir,
    pythonServerApps,
    ...(database ? { database } : {}),
  };
  control.addService(rawServiceDefinition(Control), createControlServicer(controlState));
  // Flower's CLI (flwr run, ls, log, stop) on the same port: the services' names differ.
  control.addService(
    rawServiceDefinition(FlowerControl),
    createFlowerControlServicer(controlState),
  );

  // Runs kept in the database are known before any API serves: a follower or node that comes
  // back at once finds them.
  const startResumed =
    database === undefined
      ? () => {}
      : await resumeRuns(database, { runs, router, nodes }, workDir, log);
  const fleet = await startGrpcHttp2Server(
    options.fleetApiAddress ?? "0.0.0.0:9092",
    fleetRoutes,
    fleetServerOptions(options.tls),
  );
  /** What started is stopped again when a later step fails. */
  const orClose = <T>(step: Promise<T>): Promise<T> =>
    step.catch(async (error) => {
      control.forceShutdown();
      serverAppIo.forceShutdown();
      await fleet.close();
      throw error;
    });
  const controlPort = await orClose(
    bind(control, options.controlApiAddress ?? "0.0.0.0:9093", credentials, "control API"),
  );
  serverAppIoPort = await orClose(
    bind(serverAppIo, serverAppIoAddress, ServerCredentials.createInsecure(), "ServerAppIo API"),
  );
  let web: FleetWeb | undefined;
  if (options.webAddress !== undefined) {
    web = await orClose(
      startFleetWeb(fleetApi.handlers, {
        address: options.webAddress,
        origins: options.webOrigins ?? [],
        ...(options.tls ? { tls: options.tls } : {}),
      }),
    );
  }
  startResumed();
  return {
    fleetPort: fleet.port,
    controlPort,
    serverAppIoPort,
    ...(web ? { webPort: web.port } : {}),
    trackServerApp(events) {
      const run = runOfCaller();
      if (run === undefined || run.status !== "running" || isReplaying(run)) return;
      const value = { nodeId: SERVER_NODE_ID, eventsJson: JSON.stringify(events) };
      runs.emit(run, create(RunEventSchema, { event: { case: "tracking", value } }));
    },
    async close() {
      runs.close();
      await finals.close();
      nodes.close();
      pythonServerApps.close();
      tokens.close();
      await web?.close();
      await fleet.close();
      control.forceShutdown();
      serverAppIo.forceShutdown();
      database?.close();
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
