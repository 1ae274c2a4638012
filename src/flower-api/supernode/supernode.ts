import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../../core/backoff.ts";
import { collectAfter } from "../../core/collect-garbage.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { UNCOUNTED_MIN_BYTES } from "../../core/uncounted-bytes.ts";
import type { ChannelSecurity } from "../../core/wire/grpc-http2-client.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import type { ObjectTree } from "../../gen/flwr/proto/message_pb.ts";
import type { UserConfig } from "../app/context.ts";
import type { ClientAppThread } from "../clientapp-worker/client-app-runner.ts";
import type { WorkerSetup } from "../clientapp-worker/protocol.ts";
import { messageFromProto } from "../message/message-serde.ts";
import { deflateMessage } from "../objects/deflate.ts";
import { inflateMessage } from "../objects/inflate.ts";
import { createNodeKeyPair } from "../superlink/node-auth.ts";
import { ByteBoundedCache } from "./byte-bounded-cache.ts";
import { ClientAppRuns } from "./client-app-runs.ts";
import { FleetConnection } from "./fleet-connection.ts";
import { KeptReplies } from "./kept-replies.ts";
import { pullObjects, pushReply } from "./object-transfer.ts";
import { PullPacer } from "./pull-pacer.ts";
import { runClientApp } from "./run-client-app.ts";

export interface SuperNodeOptions {
  /** The SuperLink's Fleet API, host:port. */
  superlink: string;
  /** Plaintext (`"insecure"`), or TLS trusting these root certificates. */
  security: ChannelSecurity;
  /** This node's config, e.g. partition-id and num-partitions. */
  nodeConfig?: UserConfig;
  /** Seconds between expected heartbeats; the SuperLink's patience is twice this. Default: 30 (Flower's). */
  heartbeatInterval?: number;
  /** Where app bundles are unpacked. Default: a new temporary folder. */
  workDir?: string;
  /**
   * Ask for small messages whole (fedbridge's inline extension, see fleet-servicer.ts) and send
   * small replies whole. Off, the node makes exactly a Flower 1.28 SuperNode's calls. Default: on.
   */
  inline?: boolean;
  /**
   * A module each run's ClientApp thread imports before the app (the CLI points an app's
   * SummaryWriter at the node's SuperLink with it). Default: none.
   */
  workerSetup?: WorkerSetup;
  /**
   * Where the ClientApp runs (see ClientAppThread): `worker`, a thread per run, stopped when a
   * handler overruns its TTL; `caller`, this thread, for many SuperNodes in one process (no
   * `workerSetup` then: its module would be shared by all of them). Default: `worker`.
   */
  clientAppThread?: ClientAppThread;
  /**
   * Dial the SuperLink over an HTTP/2 connection of its own, as a node in a process of its own
   * does, even where other SuperNodes of this process dial the same address (grpc-js would
   * share one connection between them). Default: false.
   */
  ownConnection?: boolean;
  /** Reports what the node does (connected, run started, errors). Default: silent. */
  log?: (line: string) => void;
}

/** Bytes of recently pulled objects kept, so an unchanged model is not pulled again. */
const OBJECT_CACHE_BYTES = 256 * 2 ** 20;
/**
 * Pulled objects this large (a model's arrays) are not kept: they would stay in memory a round
 * longer than the ClientApp needs them, where the node's memory is bounded by the model.
 */
const OBJECT_CACHE_LARGEST = UNCOUNTED_MIN_BYTES;
/** How long the node waits for a long-polled PullMessages before asking again, in s. */
const PULL_TIMEOUT = 60;
/** Waits between attempts to reach the SuperLink again. */
const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 10_000 };

/**
 * A SuperNode: dials a SuperLink's Fleet API, registers with a fresh key, sends heartbeats,
 * and handles instructions one at a time with the run's ClientApp, in the same sequence of
 * calls as a Flower 1.28 SuperNode. Reconnects with backoff when the SuperLink goes away,
 * with the same key: a SuperLink restarted on its database knows it as the same node, and
 * resends it the messages of resumed runs, which it answers with the replies it already has.
 */
export class SuperNode {
  readonly #options: SuperNodeOptions;
  readonly #runs: ClientAppRuns;
  readonly #stop = new AbortController();
  /** Objects are content-addressed, so a cached one is valid for any message that names it. */
  readonly #objectCache = new ByteBoundedCache(OBJECT_CACHE_BYTES, OBJECT_CACHE_LARGEST);
  #connection: FleetConnection | undefined;
  /** The node's identity, kept for the life of the process. */
  readonly #keys = createNodeKeyPair();
  /** Replies kept for messages sent again; in a folder of `#workDir` once `run()` made it. */
  #kept = new KeptReplies();
  #nodeId = 0n;
  #heartbeat: NodeJS.Timeout | undefined;
  #workDir: string | undefined;
  /** Whether `#workDir` was made here, and so is removed at stop. */
  #ownWorkDir = false;

  constructor(options: SuperNodeOptions) {
    if (options.clientAppThread === "caller" && options.workerSetup !== undefined)
      throw new FedbridgeError(
        Code.InvalidArgument,
        "a SuperNode that runs its ClientApp on the caller's thread takes no workerSetup",
      );
    this.#options = options;
    this.#runs = new ClientAppRuns({
      nodeConfig: options.nodeConfig,
      workerSetup: options.workerSetup,
      clientAppThread: options.clientAppThread,
      onTracking: (runId, events) => this.#track(runId, events),
      log: (line) => this.#log(line),
    });
  }

  get nodeId(): bigint {
    return this.#nodeId;
  }

  /** Runs until `stop()`: connect, serve, and on a lost connection reconnect with backoff. */
  async run(): Promise<void> {
    this.#ownWorkDir = this.#options.workDir === undefined;
    this.#workDir =
      this.#options.workDir ?? (await mkdtemp(join(tmpdir(), "fedbridge-supernode-")));
    this.#kept = new KeptReplies({
      folder: join(this.#workDir, "kept-replies"),
      log: (line) => this.#log(line),
    });
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#connect();
        attempt = 0;
        await this.#serve();
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        const failure = FedbridgeError.from(error);
        const wait = backoffDelay(attempt++, RECONNECT_BACKOFF);
        this.#log(
          `connection to ${this.#options.superlink} lost (${failure.message}); retrying in ${(wait / 1000).toFixed(1)} s`,
        );
        this.#disconnect();
        await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  /** Leaves the federation (deactivate, unregister) and ends `run()`. */
  async stop(): Promise<void> {
    this.#stop.abort();
    const connection = this.#connection;
    if (connection !== undefined && this.#nodeId !== 0n) {
      await connection
        .call(Fleet.method.deactivateNode, { nodeId: this.#nodeId }, { timeout: 5 })
        .catch(() => {});
      await connection
        .call(Fleet.method.unregisterNode, { nodeId: this.#nodeId }, { timeout: 5 })
        .catch(() => {});
    }
    this.#disconnect();
    await this.#runs.close();
    await this.#kept.close();
    if (this.#ownWorkDir && this.#workDir !== undefined)
      await rm(this.#workDir, { recursive: true, force: true });
  }

  async #connect(): Promise<void> {
    const connection = new FleetConnection(
      this.#options.superlink,
      this.#options.security,
      this.#keys,
      this.#options.ownConnection ?? false,
    );
    this.#connection = connection;
    const interval = this.#options.heartbeatInterval ?? 30;
    const publicKey = connection.keys.publicKeyPem;
    const reconnecting = this.#nodeId !== 0n;
    this.#kept.newConnection();
    await connection
      .call(Fleet.method.registerNode, { publicKey }, { timeout: 10 })
      .catch((error) => {
        // A SuperLink that kept its nodes (--database, or one still up) knows this key already.
        if (!reconnecting || FedbridgeError.from(error).code !== Code.FailedPrecondition)
          throw error;
      });
    const activate = () =>
      connection.call(
        Fleet.method.activateNode,
        { publicKey, heartbeatInterval: interval },
        { timeout: 10 },
      );
    const { nodeId } = await activate().catch(async (error) => {
      // Still online there after a lost connection: leave, then come back.
      if (!reconnecting || FedbridgeError.from(error).code !== Code.FailedPrecondition) throw error;
      await connection.call(Fleet.method.deactivateNode, { nodeId: this.#nodeId }, { timeout: 10 });
      return activate();
    });
    const same = reconnecting && nodeId === this.#nodeId;
    this.#nodeId = nodeId;
    this.#log(
      `connected to ${this.#options.superlink} as node ${nodeId}${same ? " (the same node as before)" : ""}`,
    );
    const beat = () =>
      connection
        .call(
          Fleet.method.sendNodeHeartbeat,
          { node: { nodeId }, heartbeatInterval: interval },
          { timeout: Math.max(1, interval / 2) },
        )
        .catch((error) => this.#log(`heartbeat failed: ${FedbridgeError.from(error).message}`));
    void beat();
    // Well inside the SuperLink's patience of 2 × interval, with jitter so nodes spread out.
    this.#heartbeat = setInterval(beat, interval * 1000 * (0.4 + 0.1 * Math.random()));
  }

  #disconnect(): void {
    clearInterval(this.#heartbeat);
    this.#connection?.close();
    this.#connection = undefined;
  }

  async #serve(): Promise<void> {
    const connection = this.#connection as FleetConnection;
    const node = { nodeId: this.#nodeId };
    const pacer = new PullPacer();
    while (!this.#stop.signal.aborted) {
      const sent = performance.now();
      const pulled = await connection.call(
        Fleet.method.pullMessages,
        { node },
        { timeout: PULL_TIMEOUT, signal: this.#stop.signal, inline: this.#options.inline ?? true },
      );
      const [proto] = pulled.messagesList;
      const [tree] = pulled.messageObjectTrees;
      const gotMessage = proto !== undefined && tree !== undefined;
      // Nothing yet: ask again, at once after a held call, after a pause after a quick one.
      const waitMs = pacer.next({ gotMessage, tookMs: performance.now() - sent });
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.#stop.signal }).catch(() => {});
      // Between messages the node may idle for long: free a large one's buffers now.
      if (gotMessage) collectAfter(await this.#handle(connection, proto, tree));
    }
  }

  /** Handles one pulled instruction; resolves with the bytes of objects pulled and pushed. */
  async #handle(
    connection: FleetConnection,
    proto: Parameters<typeof messageFromProto>[0],
    tree: ObjectTree,
  ): Promise<number> {
    const pulled = messageFromProto(proto);
    const metadata = pulled.metadata;
    const started = performance.now();
    const run = await this.#runs.load(
      connection,
      this.#nodeId,
      metadata.runId,
      this.#workDir as string,
    );
    // A fedbridge SuperLink may send a small message whole: its content then hashes to the id.
    const inline =
      (pulled.hasError() || pulled.content.size > 0) && deflateMessage(pulled).id === tree.objectId;
    let instruction = pulled;
    let moved = 0;
    if (!inline) {
      const objects = await pullObjects(
        connection,
        this.#nodeId,
        metadata.runId,
        tree,
        this.#objectCache,
      );
      for (const bytes of objects.values()) moved += bytes.byteLength;
      instruction = inflateMessage(tree.objectId, (id) => objects.get(id), metadata);
      await connection.call(Fleet.method.confirmMessageReceived, {
        node: { nodeId: this.#nodeId },
        runId: metadata.runId,
        messageObjectId: tree.objectId,
      });
    }
    const contentId = tree.children[0]?.objectId ?? "";
    const kept = await this.#kept.take(instruction, contentId);
    if (kept !== undefined)
      this.#log(
        `run ${metadata.runId}: the ${metadata.messageType} message ${metadata.messageId} was handled before the SuperLink restarted; sending that reply again`,
      );
    const reply =
      kept ??
      (await runClientApp(connection, this.#nodeId, run, instruction, (line) => this.#log(line)));
    if (reply === undefined) return moved; // its run was stopped meanwhile: nobody waits for it
    // Kept while it is pushed: a reply that does not get through is there after a reconnection.
    const keeping = this.#kept.keep(instruction, contentId, reply);
    const runtime = (performance.now() - started) / 1000;
    try {
      moved += await pushReply(
        connection,
        this.#nodeId,
        reply,
        runtime,
        this.#options.inline ?? true,
      );
    } finally {
      await keeping;
    }
    return moved;
  }

  /** Sends an app's tracking events to the SuperLink (fedbridge's extension), best effort. */
  #track(runId: bigint, events: readonly object[]): void {
    this.#connection
      ?.pushTracking(this.#nodeId, runId, events)
      .catch((error) => this.#log(`tracking events lost: ${FedbridgeError.from(error).message}`));
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}
