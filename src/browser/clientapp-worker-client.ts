import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { UserConfig } from "../flower-api/app/context.ts";
import type { Message } from "../flower-api/message/message.ts";
import { decodeMessage, encodeMessage } from "../flower-api/message/message-serde.ts";
import type { WorkerRequest, WorkerResponse } from "./clientapp-web-worker.ts";

/** What a page's node needs of the worker Web API (the project type-checks without the DOM lib). */
export interface WorkerLike {
  postMessage(message: WorkerRequest, transfer?: ArrayBuffer[]): void;
  addEventListener(type: "message", listener: (event: { data: WorkerResponse }) => void): void;
  addEventListener(type: "error", listener: (event: { message?: string }) => void): void;
}

export interface RunInfo {
  runId: bigint;
  nodeId: bigint;
  nodeConfig: UserConfig;
  runConfig: UserConfig;
}

/** Sends instructions to the ClientApp's Web Worker (clientapp-web-worker.ts), one reply each. */
export function createWorkerRunner(worker: WorkerLike, onNotice: (notice: string) => void) {
  let next = 0;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  worker.addEventListener("message", ({ data }) => {
    if ("notice" in data) return onNotice(data.notice);
    const waiter = pending.get(data.id);
    pending.delete(data.id);
    if (waiter === undefined) return;
    if ("reply" in data) waiter.resolve(decodeMessage(data.reply));
    else
      waiter.reject(new FedbridgeError(Code.Internal, `the ClientApp's worker: ${data.failure}`));
  });
  worker.addEventListener("error", (event) => {
    const error = new FedbridgeError(
      Code.Internal,
      `the ClientApp's worker failed: ${event.message ?? "unknown error"}`,
    );
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  return (instruction: Message, run: RunInfo): Promise<Message> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      const message = encodeMessage(instruction);
      worker.postMessage({ id, ...run, message }, [message.buffer as ArrayBuffer]);
    });
}
