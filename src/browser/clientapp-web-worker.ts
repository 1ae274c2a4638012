import { FedbridgeError } from "../core/fedbridge-error.ts";
import type { ClientApp } from "../flower-api/app/client-app.ts";
import { type Context, createContext, type UserConfig } from "../flower-api/app/context.ts";
import { runClientApp } from "../flower-api/app/run-client-app.ts";
import { decodeMessage, encodeMessage } from "../flower-api/message/message-serde.ts";

/** One instruction for the worker's ClientApp, and the run it belongs to. */
export interface WorkerRequest {
  id: number;
  runId: bigint;
  nodeId: bigint;
  nodeConfig: UserConfig;
  runConfig: UserConfig;
  /** The instruction, as encodeMessage writes it. */
  message: Uint8Array;
}

/**
 * The reply (encodeMessage), or why the worker could not even run the app; or a notice for the
 * page to show (which TensorFlow.js backend the app got).
 */
export type WorkerResponse =
  | { id: number; reply: Uint8Array }
  | { id: number; failure: string }
  | { notice: string };

/** What code in the worker calls to show a line in the page (src/browser/tfjs-backend.ts). */
export const NOTICE_HOOK = "fedbridgeNotice";

interface WorkerScope {
  addEventListener(type: "message", listener: (event: { data: WorkerRequest }) => void): void;
  postMessage(message: WorkerResponse, transfer?: ArrayBuffer[]): void;
}

/**
 * The page's ClientApp thread, a dedicated Web Worker: training blocks this thread, not the
 * page's, whose node keeps heartbeating and answering. Each run keeps its Context (its state)
 * across messages, as on a Node SuperNode. Messages are handled one at a time, in order.
 */
export function startClientAppWebWorker(app: ClientApp): void {
  const scope = globalThis as unknown as WorkerScope;
  const contexts = new Map<bigint, Context>();
  (scope as unknown as Record<string, unknown>)[NOTICE_HOOK] = (notice: string) =>
    scope.postMessage({ notice });
  let queue = Promise.resolve();
  scope.addEventListener("message", ({ data }) => {
    queue = queue.then(async () => {
      try {
        let context = contexts.get(data.runId);
        if (context === undefined) {
          context = createContext({
            runId: data.runId,
            nodeId: data.nodeId,
            nodeConfig: data.nodeConfig,
            runConfig: data.runConfig,
          });
          contexts.set(data.runId, context);
        }
        const reply = await runClientApp(app, decodeMessage(data.message), context);
        const bytes = encodeMessage(reply);
        scope.postMessage({ id: data.id, reply: bytes }, [bytes.buffer as ArrayBuffer]);
      } catch (error) {
        scope.postMessage({ id: data.id, failure: FedbridgeError.from(error).message });
      }
    });
  });
}
