import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type Event, EventSchema } from "../gen/tensorboard/event_pb.ts";
import { encodeRecord } from "./tfrecord.ts";

/** The version string of the first record of every event file TensorBoard reads. */
export const FILE_VERSION = "brain.Event:2";

export interface EventFileWriterOptions {
  /** Appended to the file name after a dot, as PyTorch's `filename_suffix`; default none. */
  filenameSuffix?: string;
  /** Events buffered before a write to disk; default 10 (PyTorch's `max_queue`). */
  maxQueue?: number;
  /**
   * Longest time an event waits in the buffer, in ms; default 5,000 (PyTorch waits 120 s; a
   * shorter wait lets a live TensorBoard show a round soon after it ends, for one small write).
   */
  flushMs?: number;
  /** The clock, for the file name and the first record; default `Date.now`. */
  now?: () => number;
  /** The host name in the file name; default `os.hostname()`. */
  hostname?: string;
}

/**
 * One TensorBoard event file being written. Events are buffered and written in batches (see
 * the options), `flush` writes what is buffered, `close` writes it, fsyncs and closes the file.
 * Writes are synchronous: an event is a few dozen bytes, and a sync write keeps a crash from
 * reordering records.
 */
export interface EventFileWriter {
  /** The file's full path. */
  readonly path: string;
  /** Buffers one event; writing after `close` is a `Code.FailedPrecondition` error. */
  write(event: Event): void;
  flush(): void;
  close(): void;
}

/**
 * Creates `<dir>/events.out.tfevents.<unix seconds>.<hostname>[.<suffix>]` (and `dir`) and
 * writes its first record, `file_version: "brain.Event:2"` with the wall time, at once, so the
 * file exists and is valid from the start. The name never replaces an existing file: a second
 * writer in the same second and folder gets `.1`, `.2`, ... after the host name.
 *
 * @example
 * const writer = createEventFileWriter("runs/exp1");
 * writer.write(toTensorBoardEvent({ kind: "scalar", tag: "loss", value: 0.4, step: 1, wallTime: Date.now() / 1000 }));
 * writer.close();
 */
export function createEventFileWriter(
  dir: string,
  options: EventFileWriterOptions = {},
): EventFileWriter {
  const now = options.now ?? Date.now;
  const maxQueue = Math.max(1, options.maxQueue ?? 10);
  const flushMs = options.flushMs ?? 5_000;
  mkdirSync(dir, { recursive: true });
  const { fd, path } = openUnique(
    dir,
    now(),
    options.hostname ?? hostname(),
    options.filenameSuffix,
  );

  let pending: Uint8Array[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const chunk = Buffer.concat(pending);
    pending = [];
    let written = 0;
    while (written < chunk.length) written += writeSync(fd, chunk, written);
  };

  const first = create(EventSchema, {
    wallTime: now() / 1000,
    what: { case: "fileVersion", value: FILE_VERSION },
    sourceMetadata: { writer: "fedbridge.tracking" },
  });
  pending.push(encodeRecord(toBinary(EventSchema, first)));
  flush();

  return {
    path,
    write(event) {
      if (closed) throw new FedbridgeError(Code.FailedPrecondition, `event file ${path} is closed`);
      pending.push(encodeRecord(toBinary(EventSchema, event)));
      if (pending.length >= maxQueue) flush();
      else if (!timer) timer = setTimeout(flush, flushMs).unref();
    },
    flush() {
      if (!closed) flush();
    },
    close() {
      if (closed) return;
      flush();
      closed = true;
      fsyncSync(fd);
      closeSync(fd);
    },
  };
}

/** Opens a new file under TensorBoard's naming scheme without replacing one that exists. */
function openUnique(
  dir: string,
  nowMs: number,
  host: string,
  suffix: string | undefined,
): { fd: number; path: string } {
  const seconds = Math.floor(nowMs / 1000);
  for (let n = 0; ; n++) {
    const name = [`events.out.tfevents.${seconds}`, host, n ? String(n) : "", suffix ?? ""]
      .filter((part) => part !== "")
      .join(".");
    const path = join(dir, name);
    try {
      return { fd: openSync(path, "wx"), path };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new FedbridgeError(
          Code.Unavailable,
          `cannot create event file ${path}: ${FedbridgeError.from(error).message}`,
          { cause: error },
        );
      }
    }
  }
}
