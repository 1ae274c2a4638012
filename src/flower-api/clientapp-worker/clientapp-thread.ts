import { parentPort, workerData } from "node:worker_threads";
import { collectAfter } from "../../core/collect-garbage.ts";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { mallocTuned } from "../../core/malloc-tuning.mjs";
import { npyInSharedMemory } from "../../core/numeric/npy.ts";
import { ClientApp } from "../app/client-app.ts";
import { createContext } from "../app/context.ts";
import { importApp } from "../app/load-app.ts";
import { runClientApp } from "../app/run-client-app.ts";
import { messageFromParts, messageToParts } from "../message/message-serde.ts";
import { decodeRecordDict, encodeRecordDict } from "../records/serde.ts";
import {
  type HandleRequest,
  ownBuffer,
  partsBuffers,
  partsBytes,
  type ThreadInit,
  type ThreadReply,
  type WorkerHost,
} from "./protocol.ts";

/**
 * A ClientApp's thread: loads the app once, then handles the instructions its ClientAppWorker
 * sends, one at a time. The node's Context arrives with each instruction and its state goes
 * back with the reply, so the host keeps node state even when it has to stop this thread.
 */
const init = workerData as ThreadInit;
// The arrays an app makes reach the node in shared memory, not copied into each reply.
npyInSharedMemory({ ownPages: !mallocTuned() });
const port = parentPort;
if (port === null) throw new Error("clientapp-thread runs only as a worker thread");
const post = (reply: ThreadReply, transfer: ArrayBuffer[] = []) =>
  port.postMessage(reply, transfer);

let currentNodeId: bigint | undefined;
const host: WorkerHost = {
  currentNodeId: () => currentNodeId,
  track: (events) => post({ type: "tracking", events: [...events], nodeId: currentNodeId }),
};

let app: ClientApp | undefined;
try {
  if (init.setup) {
    const module = (await import(init.setup.url)) as {
      setup: (data: unknown, host: WorkerHost) => unknown;
    };
    await module.setup(init.setup.data, host);
  }
  app = await importApp(init.clientappUrl, ClientApp, "clientapp");
  post({ type: "ready" });
} catch (cause) {
  post({ type: "load-error", message: FedbridgeError.from(cause).message });
}

port.on("message", async (request: HandleRequest) => {
  if (app === undefined) return; // the host knows: it had a load-error
  const context = createContext({
    runId: request.runId,
    nodeId: request.nodeId,
    nodeConfig: request.nodeConfig,
    runConfig: request.runConfig,
    state: decodeRecordDict(request.state),
  });
  currentNodeId = context.nodeId;
  const reply = await runClientApp(app, messageFromParts(request.message), context);
  const message = messageToParts(reply);
  const state = encodeRecordDict(context.state);
  // This thread sits idle until the next message: free the instruction and reply now.
  collectAfter(partsBytes(request.message) + partsBytes(message));
  post({ type: "reply", id: request.id, message, state }, [
    ...partsBuffers(message),
    ...ownBuffer(state),
  ]);
  currentNodeId = undefined;
});
