import { parentPort, workerData } from "node:worker_threads";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { ClientApp } from "../app/client-app.ts";
import { type Context, createContext } from "../app/context.ts";
import { importApp } from "../app/load-app.ts";
import { runClientApp } from "../app/run-client-app.ts";
import { decodeMessage, encodeMessage } from "../message/message-serde.ts";
import type { WorkerInit, WorkerReply, WorkerRequest } from "./worker-protocol.ts";

/**
 * A simulation worker thread: hosts the ClientApps of some nodes and handles their
 * instructions one at a time. Each node keeps its Context (and state) for the whole run.
 */
const init = workerData as WorkerInit;
const port = parentPort;
if (port === null) throw new Error("node-worker runs only as a worker thread");

const contexts = new Map<number, Context>();
for (const node of init.nodes) {
  contexts.set(
    node.index,
    createContext({
      runId: init.runId,
      nodeId: node.nodeId,
      nodeConfig: node.nodeConfig,
      runConfig: init.runConfig,
    }),
  );
}

let app: ClientApp;
/** The node whose message this worker is handling now (for the host's setup). */
let currentNodeId: bigint | undefined;
try {
  if (init.setup) {
    const module = (await import(init.setup.url)) as {
      setup: (data: unknown, current: () => bigint | undefined) => unknown;
    };
    await module.setup(init.setup.data, () => currentNodeId);
  }
  app = await importApp(init.clientappUrl, ClientApp, "clientapp");
  port.postMessage({ type: "ready" } satisfies WorkerReply);
} catch (cause) {
  port.postMessage({
    type: "load-error",
    message: FedbridgeError.from(cause).message,
  } satisfies WorkerReply);
}

let queue = Promise.resolve();
port.on("message", (request: WorkerRequest) => {
  queue = queue.then(async () => {
    const context = contexts.get(request.nodeIndex);
    if (context === undefined) throw new Error(`node ${request.nodeIndex} is not hosted here`);
    currentNodeId = context.nodeId;
    const reply = await runClientApp(app, decodeMessage(request.bytes), context);
    const bytes = encodeMessage(reply);
    port.postMessage({ type: "reply", id: request.id, bytes } satisfies WorkerReply, [
      bytes.buffer as ArrayBuffer,
    ]);
  });
});
