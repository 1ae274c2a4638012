import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import { scalarsToConfig } from "../flower-api/app/scalars.ts";
import { ErrorCode, MessageError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { messageFromProto } from "../flower-api/message/message-serde.ts";
import { type DeflatedObject, deflateMessage } from "../flower-api/objects/deflate.ts";
import { inflateMessage, listPostOrder } from "../flower-api/objects/inflate.ts";
import { pullObject, pushObject } from "../flower-api/supernode/object-calls.ts";
import { deflateReply, replyBody } from "../flower-api/supernode/reply-body.ts";
import { Fleet } from "../gen/flwr/proto/fleet_pb.ts";
import type { ObjectTree } from "../gen/flwr/proto/message_pb.ts";
import type { RunInfo } from "./clientapp-worker-client.ts";
import { FleetFetch } from "./fleet-fetch.ts";
import { createWebNodeKeys } from "./node-keys.ts";

/** What the page shows: the node's state, updated as it changes. */
export interface WebNodeState {
  status: "connecting" | "connected" | "working" | "retrying" | "stopped";
  nodeId?: string;
  runId?: string;
  round?: number;
  /** The task of the message being handled or handled last: train, evaluate, query. */
  task?: string;
  /** Metrics of the last reply. */
  lastMetrics?: Record<string, number>;
  /** Replies sent so far. */
  replies: number;
  /** The last problem, e.g. a lost connection. */
  problem?: string;
}

export interface WebSuperNodeOptions {
  /** The SuperLink's Fleet API for browsers, e.g. `http://127.0.0.1:9095`. */
  superlink: string;
  /**
   * Runs the page's ClientApp on an instruction (in its Web Worker: clientapp-worker-client.ts)
   * and returns the reply; an app that throws gives an error reply, not a rejection.
   */
  runApp: (instruction: Message, run: RunInfo) => Promise<Message>;
  /** The app's id as the SuperLink names its bundle (`fabId`); a run of another app gets an error reply. */
  appId: string;
  /** The app's default run config (package.json's `fedbridge.config`). */
  appConfig: UserConfig;
  /** This node's config, e.g. partition-id and num-partitions. */
  nodeConfig: UserConfig;
  /** Seconds between heartbeats; the SuperLink's patience is twice this. Default: 10. */
  heartbeatInterval?: number;
  /** Called with every new state. */
  onState?: (state: WebNodeState) => void;
  /** Reports what the node does. Default: silent. */
  log?: (line: string) => void;
}

const PULL_TIMEOUT = 60;
const RETRY_MS = { initial: 500, max: 10_000 };

/**
 * A SuperNode in a web page: the same calls as the Node SuperNode (register, activate,
 * heartbeats, PullMessages, objects, PushMessages) over `fetch` to the SuperLink's Fleet API
 * for browsers, running the app's ClientApp in the page. A closed tab simply stops: the
 * SuperLink sees its heartbeats end and reports its instruction NODE_UNAVAILABLE. On
 * `pagehide` the page still tries to leave cleanly (`leave()`, a keepalive fetch).
 */
export class WebSuperNode {
  readonly #options: WebSuperNodeOptions;
  readonly #stop = new AbortController();
  readonly #runs = new Map<bigint, RunInfo>();
  #state: WebNodeState = { status: "connecting", replies: 0 };
  #connection: FleetFetch | undefined;
  #nodeId = 0n;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(options: WebSuperNodeOptions) {
    this.#options = options;
  }

  get state(): WebNodeState {
    return this.#state;
  }

  /** Runs until `leave()`: connect, serve, and on a lost connection connect again. */
  async run(): Promise<void> {
    let wait = RETRY_MS.initial;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#connect();
        wait = RETRY_MS.initial;
        await this.#serve();
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        const problem = FedbridgeError.from(error).message;
        this.#update({ status: "retrying", problem });
        this.#log(`connection lost (${problem}); retrying in ${(wait / 1000).toFixed(1)} s`);
        clearInterval(this.#heartbeat);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, RETRY_MS.max);
      }
    }
    this.#update({ status: "stopped" });
  }

  /** Leaves the federation: deactivate and unregister, sent even while the page unloads. */
  leave(): void {
    this.#stop.abort();
    clearInterval(this.#heartbeat);
    const connection = this.#connection;
    if (connection === undefined || this.#nodeId === 0n) return;
    const nodeId = this.#nodeId;
    void connection
      .call(Fleet.method.deactivateNode, { nodeId }, {}, true)
      .then(() => connection.call(Fleet.method.unregisterNode, { nodeId }, {}, true))
      .catch(() => {}); // the page is going away: its heartbeats end either way
  }

  async #connect(): Promise<void> {
    this.#update({ status: "connecting" });
    const connection = new FleetFetch(this.#options.superlink, await createWebNodeKeys());
    this.#connection = connection;
    const interval = this.#options.heartbeatInterval ?? 10;
    const publicKey = connection.keys.publicKeyPem;
    await connection.call(Fleet.method.registerNode, { publicKey }, { timeout: 10 });
    const { nodeId } = await connection.call(
      Fleet.method.activateNode,
      { publicKey, heartbeatInterval: interval },
      { timeout: 10 },
    );
    this.#nodeId = nodeId;
    this.#update({ status: "connected", nodeId: String(nodeId) });
    this.#log(`connected to ${this.#options.superlink} as node ${nodeId}`);
    const beat = () =>
      connection
        .call(
          Fleet.method.sendNodeHeartbeat,
          { node: { nodeId }, heartbeatInterval: interval },
          { timeout: Math.max(1, interval / 2) },
        )
        .catch((error) => this.#log(`heartbeat failed: ${FedbridgeError.from(error).message}`));
    void beat();
    this.#heartbeat = setInterval(beat, interval * 1000 * 0.45);
  }

  async #serve(): Promise<void> {
    const connection = this.#connection as FleetFetch;
    const node = { nodeId: this.#nodeId };
    while (!this.#stop.signal.aborted) {
      const sent = Date.now();
      const pulled = await connection.call(
        Fleet.method.pullMessages,
        { node },
        { timeout: PULL_TIMEOUT, signal: this.#stop.signal, inline: true },
      );
      const [proto] = pulled.messagesList;
      const [tree] = pulled.messageObjectTrees;
      if (proto !== undefined && tree !== undefined) {
        await this.#handle(connection, messageFromProto(proto), tree);
      } else if (Date.now() - sent < 1000) {
        // A SuperLink that answers at once instead of holding the call: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async #handle(connection: FleetFetch, pulled: Message, tree: ObjectTree): Promise<void> {
    const started = performance.now();
    const { runId } = pulled.metadata;
    const inline =
      (pulled.hasError() || pulled.content.size > 0) && deflateMessage(pulled).id === tree.objectId;
    let instruction = pulled;
    if (!inline) {
      const objects = await this.#pullObjects(connection, runId, tree);
      instruction = inflateMessage(tree.objectId, (id) => objects.get(id), pulled.metadata);
      await connection.call(Fleet.method.confirmMessageReceived, {
        node: { nodeId: this.#nodeId },
        runId,
        messageObjectId: tree.objectId,
      });
    }
    const round = instruction.content.configRecords.get("config")?.get("server-round");
    const task = instruction.metadata.messageType;
    this.#update({
      status: "working",
      runId: String(runId),
      task,
      ...(round === undefined ? {} : { round: Number(round) }),
    });
    const run = await this.#runOf(connection, runId);
    const reply =
      run instanceof MessageError
        ? new Message(run, { replyTo: instruction })
        : await this.#options.runApp(instruction, run);
    if (reply.hasError()) this.#log(`run ${runId}: error reply: ${reply.error}`);
    await this.#pushReply(connection, reply, (performance.now() - started) / 1000);
    this.#update({
      status: "connected",
      replies: this.#state.replies + 1,
      ...(reply.hasError()
        ? { problem: `error reply: ${reply.error}` }
        : { lastMetrics: metricsOf(reply) }),
    });
  }

  /** What the ClientApp's Context is made of, or why this page cannot serve the run. */
  async #runOf(connection: FleetFetch, runId: bigint): Promise<RunInfo | MessageError> {
    const known = this.#runs.get(runId);
    if (known !== undefined) return known;
    const { run } = await connection.call(Fleet.method.getRun, {
      node: { nodeId: this.#nodeId },
      runId,
    });
    if (run === undefined)
      throw new FedbridgeError(Code.NotFound, `the SuperLink knows no run ${runId}`);
    if (run.fabId !== this.#options.appId) {
      const reason = `this page runs the app ${this.#options.appId}; run ${runId} is of ${run.fabId}`;
      this.#log(reason);
      return new MessageError(ErrorCode.LOAD_CLIENT_APP_EXCEPTION, reason);
    }
    const info: RunInfo = {
      runId,
      nodeId: this.#nodeId,
      nodeConfig: this.#options.nodeConfig,
      runConfig: { ...this.#options.appConfig, ...scalarsToConfig(run.overrideConfig) },
    };
    this.#runs.set(runId, info);
    this.#log(`run ${runId}: started`);
    return info;
  }

  async #pullObjects(
    connection: FleetFetch,
    runId: bigint,
    tree: ObjectTree,
  ): Promise<Map<string, Uint8Array>> {
    const objects = new Map<string, Uint8Array>();
    const node = { nodeId: this.#nodeId };
    for (const objectId of listPostOrder(tree))
      objects.set(objectId, await pullObject(connection, node, runId, objectId));
    return objects;
  }

  async #pushReply(connection: FleetFetch, reply: Message, runtime: number): Promise<void> {
    const { tree, objects, fitsInline: inline } = deflateReply(reply);
    const body = replyBody(reply, inline);
    const node = { nodeId: this.#nodeId };
    const { objectsToPush } = await connection.call(
      Fleet.method.pushMessages,
      { node, messagesList: [body], messageObjectTrees: [tree], clientappRuntimeList: [runtime] },
      { inline },
    );
    const wanted = new Set(objectsToPush);
    for (const objectId of listPostOrder(tree).filter((id) => wanted.has(id)))
      await pushObject(
        connection,
        node,
        reply.metadata.runId,
        objects.get(objectId) as DeflatedObject,
      );
  }

  #update(change: Partial<WebNodeState>): void {
    this.#state = { ...this.#state, ...change };
    this.#options.onState?.(this.#state);
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

function metricsOf(reply: Message): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, record] of reply.content.metricRecords) {
    for (const [key, value] of record) if (typeof value === "number") out[key] = value;
  }
  return out;
}
