import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { backoffDelay } from "../../core/backoff.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import type { ObjectTree } from "../../gen/flwr/proto/message_pb.ts";
import { type Context, createContext, type UserConfig } from "../app/context.ts";
import { readAppManifest } from "../app/load-app.ts";
import { scalarsToConfig } from "../app/scalars.ts";
import type { ClientAppRunner, ClientAppThread } from "../clientapp-worker/client-app-runner.ts";
import { ClientAppWorker } from "../clientapp-worker/clientapp-worker.ts";
import { InlineClientApp } from "../clientapp-worker/inline-client-app.ts";
import type { WorkerSetup } from "../clientapp-worker/protocol.ts";
import { unpackApp } from "../fab/app-bundle.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { messageFromProto } from "../message/message-serde.ts";
import { type DeflatedObject, deflateMessage } from "../objects/deflate.ts";
import { inflateMessage, listPostOrder, objectTreeOf, verifyObject } from "../objects/inflate.ts";
import { INLINE_MAX_BYTES } from "../superlink/fleet-servicer.ts";
import { createNodeKeyPair } from "../superlink/node-auth.ts";
import { FleetConnection } from "./fleet-connection.ts";
import { KeptReplies } from "./kept-replies.ts";
import { PullPacer } from "./pull-pacer.ts";
import { replyBody } from "./reply-body.ts";

export interface SuperNodeOptions {
  /** The SuperLink's Fleet API, host:port. */
  superlink: string;
  credentials: ChannelCredentials;
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

interface LoadedRun {
  /** Runs the ClientApp; undefined when the app could not even be unpacked. */
  worker: ClientAppRunner | undefined;
  /** Why the app cannot load, when it cannot. */
  failure?: FedbridgeError;
  context: Context;
}

/** Objects pulled or pushed at once. Flower uses 2; more overlaps round trips. */
const OBJECT_CONCURRENCY = 8;
/** Bytes of recently pulled objects kept, so an unchanged model is not pulled again. */
const OBJECT_CACHE_BYTES = 256 * 2 ** 20;
/** How long the node waits for a long-polled PullMessages before asking again, in s. */
const PULL_TIMEOUT = 60;
/** Waits between attempts to reach the SuperLink again. */
const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 10_000 };
/** How often a run whose message is being handled is checked for having been stopped, in ms. */
const RUN_CHECK_MS = 3_000;
/** Runs whose ClientApp thread is kept between messages; older ones are stopped (state kept). */
const LIVE_RUN_THREADS = 2;

/**
 * A SuperNode: dials a SuperLink's Fleet API, registers with a fresh key, sends heartbeats,
 * and handles instructions one at a time with the run's ClientApp, in the same sequence of
 * calls as a Flower 1.28 SuperNode. Reconnects with backoff when the SuperLink goes away,
 * with the same key: a SuperLink restarted on its database knows it as the same node, and
 * resends it the messages of resumed runs, which it answers with the replies it already has.
 */
export class SuperNode {
  readonly #options: SuperNodeOptions;
  readonly #runs = new Map<bigint, LoadedRun>();
  readonly #stop = new AbortController();
  /** Objects are content-addressed, so a cached one is valid for any message that names it. */
  readonly #objectCache = new ByteBoundedCache(OBJECT_CACHE_BYTES);
  #connection: FleetConnection | undefined;
  /** The node's identity, kept for the life of the process. */
  readonly #keys = createNodeKeyPair();
  readonly #kept = new KeptReplies();
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
  }

  get nodeId(): bigint {
    return this.#nodeId;
  }

  /** Runs until `stop()`: connect, serve, and on a lost connection reconnect with backoff. */
  async run(): Promise<void> {
    this.#ownWorkDir = this.#options.workDir === undefined;
    this.#workDir =
      this.#options.workDir ?? (await mkdtemp(join(tmpdir(), "fedbridge-supernode-")));
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
    await Promise.all([...this.#runs.values()].map((run) => run.worker?.close()));
    if (this.#ownWorkDir && this.#workDir !== undefined)
      await rm(this.#workDir, { recursive: true, force: true });
  }

  async #connect(): Promise<void> {
    const connection = new FleetConnection(
      this.#options.superlink,
      this.#options.credentials,
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
      if (gotMessage) await this.#handle(connection, proto, tree);
    }
  }

  async #handle(
    connection: FleetConnection,
    proto: Parameters<typeof messageFromProto>[0],
    tree: ObjectTree,
  ): Promise<void> {
    const pulled = messageFromProto(proto);
    const metadata = pulled.metadata;
    const started = performance.now();
    const run = await this.#loadRun(connection, metadata.runId);
    // A fedbridge SuperLink may send a small message whole: its content then hashes to the id.
    const inline =
      (pulled.hasError() || pulled.content.size > 0) && deflateMessage(pulled).id === tree.objectId;
    let instruction = pulled;
    if (!inline) {
      const objects = await this.#pullObjects(connection, metadata.runId, tree);
      instruction = inflateMessage(tree.objectId, (id) => objects.get(id), metadata);
      await connection.call(Fleet.method.confirmMessageReceived, {
        node: { nodeId: this.#nodeId },
        runId: metadata.runId,
        messageObjectId: tree.objectId,
      });
    }
    const contentId = tree.children[0]?.objectId ?? "";
    const kept = this.#kept.take(instruction, contentId);
    if (kept !== undefined)
      this.#log(
        `run ${metadata.runId}: the ${metadata.messageType} message ${metadata.messageId} was handled before the SuperLink restarted; sending that reply again`,
      );
    const reply = kept ?? (await this.#runClientApp(connection, run, instruction));
    if (reply === undefined) return; // its run was stopped meanwhile: nobody waits for it
    this.#kept.keep(instruction, contentId, reply);
    await this.#pushReply(connection, reply, (performance.now() - started) / 1000);
  }

  /**
   * The ClientApp's reply to an instruction, under the instruction's TTL; undefined when the
   * run is stopped meanwhile (checked every few seconds), its handler then stopped too.
   */
  async #runClientApp(
    connection: FleetConnection,
    run: LoadedRun,
    instruction: Message,
  ): Promise<Message | undefined> {
    if (run.worker === undefined) {
      const failure = run.failure ?? new FedbridgeError(Code.Unknown, "the app is not loaded");
      const code =
        failure.code === Code.DataLoss
          ? ErrorCode.INVALID_FAB
          : ErrorCode.LOAD_CLIENT_APP_EXCEPTION;
      return new Message(new MessageError(code, failure.message), { replyTo: instruction });
    }
    const { runId } = instruction.metadata;
    const stopped = new AbortController();
    const watch = setInterval(async () => {
      if (!(await this.#runIsLive(connection, runId))) stopped.abort();
    }, RUN_CHECK_MS);
    try {
      const reply = await run.worker.handle(instruction, run.context, stopped.signal);
      if (stopped.signal.aborted) {
        this.#log(
          `run ${runId} was stopped: its message ${instruction.metadata.messageId} is dropped`,
        );
        return undefined;
      }
      if (reply.hasError()) this.#log(`run ${runId}: error reply: ${reply.error}`);
      return reply;
    } finally {
      clearInterval(watch);
    }
  }

  /** Whether the SuperLink still runs `runId` (a failed check for another reason counts as yes). */
  async #runIsLive(connection: FleetConnection, runId: bigint): Promise<boolean> {
    try {
      const { run } = await connection.call(
        Fleet.method.getRun,
        { node: { nodeId: this.#nodeId }, runId },
        { timeout: 10 },
      );
      return run?.status?.status !== "finished";
    } catch (error) {
      const { code } = FedbridgeError.from(error);
      return code !== Code.PermissionDenied && code !== Code.NotFound;
    }
  }

  async #loadRun(connection: FleetConnection, runId: bigint): Promise<LoadedRun> {
    const known = this.#runs.get(runId);
    if (known !== undefined) return known;
    const node = { nodeId: this.#nodeId };
    const { run } = await connection.call(Fleet.method.getRun, { node, runId });
    if (run === undefined)
      throw new FedbridgeError(Code.NotFound, `the SuperLink knows no run ${runId}`);
    const { fab } = await connection.call(Fleet.method.getFab, {
      node,
      hashStr: run.fabHash,
      runId,
    });
    const overrides = scalarsToConfig(run.overrideConfig);
    const context = createContext({
      runId,
      nodeId: this.#nodeId,
      nodeConfig: this.#options.nodeConfig ?? {},
      runConfig: overrides,
    });
    let loaded: LoadedRun;
    try {
      const content = fab?.content ?? new Uint8Array();
      const actual = createHash("sha256").update(content).digest("hex");
      if (actual !== run.fabHash)
        throw new FedbridgeError(
          Code.DataLoss,
          `app bundle hash mismatch: expected ${run.fabHash}, got ${actual}`,
        );
      const dir = await unpackApp(content, run.fabHash, join(this.#workDir as string, run.fabHash));
      const manifest = await readAppManifest(dir);
      context.runConfig = { ...manifest.config, ...overrides };
      const worker =
        this.#options.clientAppThread === "caller"
          ? new InlineClientApp(manifest.clientappUrl)
          : new ClientAppWorker({
              clientappUrl: manifest.clientappUrl,
              ...(this.#options.workerSetup ? { setup: this.#options.workerSetup } : {}),
              onTracking: (events) => this.#track(runId, events),
            });
      loaded = { worker, context };
      await worker.start().catch((error) => {
        loaded.failure = FedbridgeError.from(error);
      });
      if (loaded.failure === undefined) this.#log(`run ${runId}: loaded ${manifest.name}`);
      else this.#log(`run ${runId}: cannot load the app: ${loaded.failure.message}`);
    } catch (error) {
      const failure = FedbridgeError.from(error);
      this.#log(`run ${runId}: cannot load the app: ${failure.message}`);
      loaded = { worker: undefined, failure, context };
    }
    this.#runs.set(runId, loaded);
    await this.#stopOldThreads(runId);
    return loaded;
  }

  /** Keeps the ClientApp threads of the most recent runs only (their Contexts stay). */
  async #stopOldThreads(newest: bigint): Promise<void> {
    const older = [...this.#runs.keys()].filter((id) => id !== newest);
    for (const runId of older.slice(0, Math.max(0, older.length - (LIVE_RUN_THREADS - 1)))) {
      await this.#runs.get(runId)?.worker?.stop();
    }
  }

  /** Sends an app's tracking events to the SuperLink (fedbridge's extension), best effort. */
  #track(runId: bigint, events: readonly object[]): void {
    this.#connection
      ?.pushTracking(this.#nodeId, runId, events)
      .catch((error) => this.#log(`tracking events lost: ${FedbridgeError.from(error).message}`));
  }

  /** Pulls every object of the tree, children first, checking each against its id. */
  async #pullObjects(
    connection: FleetConnection,
    runId: bigint,
    tree: ObjectTree,
  ): Promise<Map<string, Uint8Array>> {
    const objects = new Map<string, Uint8Array>();
    const node = { nodeId: this.#nodeId };
    const missing = listPostOrder(tree).filter((id) => {
      const cached = this.#objectCache.get(id);
      if (cached !== undefined) objects.set(id, cached);
      return cached === undefined;
    });
    await forEachConcurrently(missing, OBJECT_CONCURRENCY, async (objectId) => {
      for (let attempt = 0, wait = 0.05; ; attempt++, wait = Math.min(wait * 2, 2)) {
        const response = await connection.call(Fleet.method.pullObject, { node, runId, objectId });
        if (!response.objectFound)
          throw new FedbridgeError(Code.NotFound, `object ${objectId} is unknown to the SuperLink`);
        if (response.objectAvailable) {
          if (!verifyObject(objectId, response.objectContent))
            throw new FedbridgeError(Code.DataLoss, `object ${objectId} does not match its id`);
          objects.set(objectId, response.objectContent);
          this.#objectCache.set(objectId, response.objectContent);
          return;
        }
        if (attempt > 200)
          throw new FedbridgeError(
            Code.DeadlineExceeded,
            `object ${objectId} never became available`,
          );
        await sleep(wait * 1000);
      }
    });
    return objects;
  }

  async #pushReply(connection: FleetConnection, reply: Message, runtime: number): Promise<void> {
    // The object leaves the message id out, so the id can be set from it afterwards.
    const deflated = deflateMessage(reply);
    reply.metadata.messageId = deflated.id;
    const tree = objectTreeOf(deflated);
    const byId = indexObjects(deflated);
    // Small replies go whole (fedbridge's inline extension); others as objects, as Flower's do.
    const inline =
      (this.#options.inline ?? true) &&
      [...byId.values()].reduce((sum, bytes) => sum + bytes.length, 0) <= INLINE_MAX_BYTES;
    const body = replyBody(reply, inline);
    const node = { nodeId: this.#nodeId };
    const { objectsToPush } = await connection.call(
      Fleet.method.pushMessages,
      { node, messagesList: [body], messageObjectTrees: [tree], clientappRuntimeList: [runtime] },
      { inline },
    );
    const wanted = new Set(objectsToPush);
    await forEachConcurrently(
      listPostOrder(tree).filter((id) => wanted.has(id)),
      OBJECT_CONCURRENCY,
      async (objectId) => {
        const { stored } = await connection.call(Fleet.method.pushObject, {
          node,
          runId: reply.metadata.runId,
          objectId,
          objectContent: byId.get(objectId) as Uint8Array,
        });
        if (!stored)
          throw new FedbridgeError(Code.DataLoss, `the SuperLink did not store object ${objectId}`);
      },
    );
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

function indexObjects(
  root: DeflatedObject,
  into = new Map<string, Uint8Array>(),
): Map<string, Uint8Array> {
  into.set(root.id, root.bytes);
  for (const child of root.children) indexObjects(child, into);
  return into;
}

async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

/** A Map of byte arrays that forgets the oldest entries past a byte budget. */
class ByteBoundedCache {
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(private readonly budget: number) {}

  get(id: string): Uint8Array | undefined {
    return this.#entries.get(id);
  }

  set(id: string, bytes: Uint8Array): void {
    if (this.#entries.has(id) || bytes.length > this.budget) return;
    this.#entries.set(id, bytes);
    this.#bytes += bytes.length;
    for (const [oldId, old] of this.#entries) {
      if (this.#bytes <= this.budget) break;
      this.#entries.delete(oldId);
      this.#bytes -= old.length;
    }
  }
}
