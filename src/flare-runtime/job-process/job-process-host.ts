import { type ChildProcess, fork } from "node:child_process";
import type { Duplex } from "node:stream";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { inPiecesOf } from "../../core/gather-bytes.ts";
import { withMallocTuning } from "../../core/malloc-tuning.mjs";
import { sizedStream } from "../cell/chunk-sender.ts";
import { DataChannel } from "./data-channel.ts";
import type { FromJob, JobStart, MulticastReply, ToJob } from "./job-protocol.ts";
import type { Payload, TaskMeta } from "./job-runner.ts";

const BOOT = new URL("./job-process.boot.mjs", import.meta.url);
/** A task's result comes in pieces of the size a cell sends. */
const RESULT_PIECE = 2 ** 20;

/** What a parent does for its job process. */
export interface JobProcessEvents {
  /** Server role: a request of the job for one of its sites. */
  request?(
    site: string,
    topic: string,
    payload: Payload,
    timeout: number | undefined,
  ): Promise<Payload>;
  /**
   * Server role: a multicast of the job (its payload in a file). Hand each site's answer to
   * `reply` as it comes; resolve when every site has had its answer.
   */
  multicast?(
    request: Extract<FromJob, { type: "multicast" }>,
    reply: (message: MulticastReply) => void,
  ): Promise<void>;
  /** Server role: the job saved a checkpoint after `round` in `file`. */
  checkpoint?(round: number, file: string): void;
  round?(round: number, metrics: Record<string, number> | undefined): void;
  result?(result: Record<string, unknown>): void;
  log?(line: string): void;
  /** Tracking events of the job, for the server's tracking. */
  tracking?(events: object[]): void;
}

/** How a job process ended. */
export interface JobExit {
  /** The job said it finished its work (server role). */
  completed: boolean;
  /** Why it did not, in words: its own error, or how the process died. */
  reason: string;
}

/**
 * The parent's handle on one job process: starts it, relays requests both ways, and turns
 * its end into a JobExit. A job process that crashes or is killed ends its job alone.
 */
export class JobProcessHost {
  readonly exited: Promise<JobExit>;
  readonly #child: ChildProcess;
  /** Tasks and their results (site role), beside IPC: the job process's fd 4. */
  readonly #data: DataChannel;
  readonly #pending = new Map<
    number,
    { resolve: (p: Payload) => void; reject: (e: FedbridgeError) => void }
  >();
  readonly #replies: MulticastReply[] = [];
  #nextId = 1;
  #completed = false;
  #failure = "";
  #stderr = "";

  constructor(init: Omit<JobStart, "type">, events: JobProcessEvents = {}) {
    this.#child = fork(BOOT, [], {
      env: withMallocTuning(),
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc", "pipe"],
    });
    this.#data = new DataChannel(this.#child.stdio[4] as Duplex);
    this.#child.stdout?.on("data", (chunk: Buffer) => events.log?.(chunk.toString().trimEnd()));
    this.#child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#child.on("message", (message: FromJob) => this.#onMessage(message, events));
    // A child that dies while a message to it is on its way makes the send fail with EPIPE,
    // reported as an "error" event: unheard, that would take the parent down with the job.
    this.#child.on("error", (error) => events.log?.(`job process: ${error.message}`));
    this.exited = new Promise((resolve) => {
      this.#child.on("exit", (code, signal) => {
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        // The job crashed, not the site: what it was doing fails as an error of the job.
        for (const { reject } of this.#pending.values())
          reject(new FedbridgeError(Code.Internal, `the job process ended (${how})`));
        this.#pending.clear();
        const reason =
          this.#failure ||
          (this.#completed ? "" : `the job process ended (${how})${this.#stderrTail()}`);
        resolve({ completed: this.#completed && code === 0, reason });
      });
    });
    this.#send({ type: "start", ...init });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Site role: hands a request from the server's job part to this job process. */
  request(topic: string, payload: Payload): Promise<Payload> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#send({ type: "request", id, topic, payload });
    });
  }

  /**
   * Site role: hands a task (its bytes as they arrive, `size` of them if known, and this
   * site's own meta entries) to this job process; resolves, once the job has done it, with
   * its result's bytes as they come (and their size). A body that fails fails the task with
   * its error.
   */
  task(
    topic: string,
    body: AsyncIterable<Uint8Array>,
    options: { size?: number | undefined; siteMeta?: TaskMeta | undefined } = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    const id = this.#nextId++;
    const { size, siteMeta } = options;
    const done = new Promise<AsyncIterable<Uint8Array>>((resolve, reject) => {
      // The OK reply's payload is the result's size.
      const result = (size: Payload) => {
        const pieces = inPiecesOf(this.#data.receive(id), RESULT_PIECE);
        return typeof size === "number" ? sizedStream(size, pieces) : pieces;
      };
      this.#pending.set(id, { resolve: (size) => resolve(result(size)), reject });
    });
    this.#send({
      type: "task",
      id,
      topic,
      ...(size === undefined ? {} : { size }),
      ...(siteMeta ? { siteMeta } : {}),
    });
    // Its failure reaches the job with the bytes, and comes back as the task's.
    this.#data.send(id, body).catch(() => {});
    return done;
  }

  /** Asks the job to stop, then kills it if it has not within `graceMs`. */
  async stop(graceMs = 3000): Promise<JobExit> {
    this.#send({ type: "abort" });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Sends a site's reply with the others of this turn (1,000 sends were 1,000 writes). */
  #queueReply(reply: MulticastReply): void {
    this.#replies.push(reply);
    if (this.#replies.length === 1) setImmediate(() => this.#flushReplies());
  }

  #flushReplies(): void {
    if (this.#replies.length === 0) return;
    this.#send({ type: "multicast-replies", replies: this.#replies.splice(0) });
  }

  #send(message: ToJob): void {
    // A failed send means the job process is gone; its exit says so and fails what is pending.
    if (this.#child.connected) this.#child.send(message, (error) => void error);
  }

  #onMessage(message: FromJob, events: JobProcessEvents): void {
    switch (message.type) {
      case "request": {
        const { id } = message;
        const reply =
          events.request?.(message.site, message.topic, message.payload, message.timeout) ??
          Promise.reject(
            new FedbridgeError(Code.Unimplemented, "this job process may not send requests"),
          );
        reply.then(
          (payload) => this.#send({ type: "reply", id, ok: true, payload }),
          (error) => {
            const failure = FedbridgeError.from(error);
            this.#send({
              type: "reply",
              id,
              ok: false,
              code: failure.code,
              message: failure.message,
            });
          },
        );
        break;
      }
      case "reply": {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.payload);
        else waiter?.reject(new FedbridgeError(message.code as Code, message.message));
        break;
      }
      case "multicast": {
        const { id } = message;
        const done = () => {
          this.#flushReplies();
          this.#send({ type: "multicast-done", id });
        };
        if (events.multicast === undefined) {
          for (const site of message.sites)
            this.#queueReply({
              type: "multicast-reply",
              id,
              site,
              ok: false,
              code: Code.Unimplemented,
              message: "this job process may not send tasks",
            });
          done();
        } else void events.multicast(message, (reply) => this.#queueReply(reply)).finally(done);
        break;
      }
      case "checkpoint":
        events.checkpoint?.(message.round, message.file);
        break;
      case "round":
        events.round?.(message.round, message.metrics);
        break;
      case "result":
        events.result?.(message.result);
        break;
      case "log":
        events.log?.(message.line);
        break;
      case "tracking":
        events.tracking?.(message.events);
        break;
      case "done":
        this.#completed = true;
        break;
      case "failed":
        this.#failure = message.reason;
        break;
    }
  }

  #stderrTail(): string {
    const tail = this.#stderr.trim().split("\n").slice(-3).join(" | ");
    return tail ? `: ${tail}` : "";
  }
}
