import { readFile } from "node:fs/promises";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { growHeapsFurther } from "../../core/heap-growth.ts";
import { DataChannel } from "./data-channel.ts";
import type { FromJob, JobStart, ToJob } from "./job-protocol.ts";
import type { JobRunner, Payload, ServerJobContext, SitePart } from "./job-runner.ts";
import { JobTransfers } from "./job-transfers.ts";

/**
 * A job process: runs one job's runner for its parent (server or site) and talks to the
 * parent over IPC only. The server role drives the job and exits when it is done; the site
 * role answers requests until the parent stops it. A crash here ends this job alone.
 */
growHeapsFurther();

const send = (message: FromJob) => process.send?.(message);
/** Sends the last message and resolves once it is out, so exiting does not lose it. */
const sendLast = (message: FromJob) =>
  new Promise<void>((resolve) => process.send?.(message, () => resolve()) ?? resolve());
/** Tasks' bytes and their results (site role): fd 4, which the parent opened for it. */
const data = DataChannel.onDescriptor(4);
const abort = new AbortController();
const pending = new Map<
  number,
  { resolve: (p: Payload) => void; reject: (e: FedbridgeError) => void }
>();
let nextId = 1;
/** Site role: the job's part here, made by its runner (this process serves one job). */
let sitePart: SitePart | undefined;
let transfers: JobTransfers | undefined;
/** Requests may arrive while the runner module is still loading: they wait for it. */
let markStarted: () => void = () => {};
const started = new Promise<void>((resolve) => {
  markStarted = resolve;
});

process.on("message", (message: ToJob) => {
  switch (message.type) {
    case "start":
      void start(message);
      break;
    case "reply": {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.payload);
      else waiter?.reject(new FedbridgeError(message.code as Code, message.message));
      break;
    }
    case "multicast-replies":
      for (const reply of message.replies) transfers?.reply(reply);
      break;
    case "multicast-done":
      transfers?.done(message.id);
      break;
    case "request": {
      const { id } = message;
      void answer(
        id,
        async (part) => {
          if (part.request === undefined)
            throw new FedbridgeError(Code.Unimplemented, "this job answers no requests");
          return part.request(message.topic, message.payload);
        },
        (payload) => send({ type: "reply", id, ok: true, payload }),
      );
      break;
    }
    case "task": {
      const { id, topic, size, siteMeta } = message;
      // Copied where it will lie as it arrives, whether or not the task can be done.
      const body = data.receiveWhole(id, size);
      body.catch(() => {}); // a task refused before it is read fails for that reason
      void answer(
        id,
        async (part) => {
          if (part.task === undefined)
            throw new FedbridgeError(Code.Unimplemented, "this job does no tasks");
          return part.task(topic, await body, siteMeta);
        },
        (result) => {
          // The reply says the result follows on the data channel, and its size.
          const size = result.reduce((total, piece) => total + piece.byteLength, 0);
          send({ type: "reply", id, ok: true, payload: size });
          data.send(id, result).catch(() => {}); // the channel is gone: so is the parent
        },
      );
      break;
    }
    case "abort":
      abort.abort(new FedbridgeError(Code.Aborted, "the job was aborted"));
      setTimeout(() => process.exit(0), 2000).unref();
      break;
  }
});
process.on("disconnect", () => process.exit(1)); // the parent is gone

async function start(init: JobStart): Promise<void> {
  try {
    const module = (await import(init.runnerUrl)) as { runner?: JobRunner };
    if (module.runner === undefined)
      throw new FedbridgeError(Code.InvalidArgument, `${init.runnerUrl} exports no runner`);
    const runner = module.runner;
    const info = {
      jobId: init.jobId,
      config: init.config,
      dir: init.dir,
      workspace: init.workspace,
      log: (line: string) => send({ type: "log", line }),
      track: (events: readonly object[]) => send({ type: "tracking", events: [...events] }),
      signal: abort.signal,
    };
    if (init.role === "site") {
      sitePart =
        runner.site?.({
          ...info,
          site: init.sites[0] ?? "",
          jobSites: init.sites.slice(1),
          privacy: init.privacy ?? { formatVersion: 1, scopes: {}, defaultScope: "" },
          nodeConfig: init.nodeConfig ?? {},
        }) ?? {};
      markStarted();
      return;
    }
    const jobTransfers = new JobTransfers(init.workspace, send);
    transfers = jobTransfers;
    const { resume } = init;
    const context: ServerJobContext = {
      ...info,
      sites: init.sites,
      multicast: (...args) => jobTransfers.multicast(...args),
      saveCheckpoint: (round, state) => jobTransfers.saveCheckpoint(round, state),
      ...(resume ? { resume: { round: resume.round, read: () => readFile(resume.file) } } : {}),
      request: (site, topic, payload, options) =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          pending.set(id, { resolve, reject });
          send({
            type: "request",
            id,
            site,
            topic,
            payload,
            ...(options?.timeout ? { timeout: options.timeout } : {}),
          });
        }),
      roundCompleted: (round, metrics) =>
        send({ type: "round", round, ...(metrics ? { metrics } : {}) }),
      setResult: (result) => send({ type: "result", result }),
    };
    await runner.server(context);
    await sendLast({ type: "done" });
    process.exit(0);
  } catch (error) {
    markStarted(); // waiting requests now fail: there is no runner
    await sendLast({ type: "failed", reason: FedbridgeError.from(error).message });
    process.exit(1);
  }
}

/**
 * Answers a request or task of the parent: `deliver` sends what `work` gives, or the reply
 * says why it failed.
 */
async function answer<T>(
  id: number,
  work: (part: SitePart) => Promise<T>,
  deliver: (result: T) => void,
): Promise<void> {
  try {
    await started;
    if (sitePart === undefined)
      throw new FedbridgeError(Code.Unavailable, "the job is not started");
    deliver(await work(sitePart));
  } catch (error) {
    const failure = FedbridgeError.from(error);
    send({ type: "reply", id, ok: false, code: failure.code, message: failure.message });
  }
}
