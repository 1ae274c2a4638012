/**
 * Frames in and out of one HTTP/2 stream, the same at both ends of a cell: the server's
 * request and response, the site's client stream.
 */
import { finished, type Readable } from "node:stream";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import { encodeFrame, FrameReader } from "./frame-codec.ts";

/** Where frames are written: a client stream, or the server's response. */
export interface FrameSink {
  write(bytes: Uint8Array): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  removeListener(event: "drain" | "close", listener: () => void): unknown;
}

/** Frames decoded ahead of their consumer before the stream is paused. */
const FRAMES_AHEAD = 4;

/**
 * The frames of `stream`, as they arrive; a frame cut off by the stream's end is an error with
 * `cutOffCode`: UNAVAILABLE by default (a site reads it as a broken link and dials again); the
 * server says INVALID_ARGUMENT, since a site that ends its request there sent a malformed one.
 * A stream's error, or its close before its end, is thrown as it is; leaving the loop early
 * destroys the stream.
 *
 * Pieces are taken from "data" events, not the stream's async iterator: HTTP/2 over TLS hands
 * over a 1 MiB frame in some hundred pieces of about 10 KB, and a promise per piece cost the
 * cells' busiest process more than the bytes did.
 */
export async function* readFrames(
  stream: Readable,
  maxFrameBytes: number,
  cutOffCode: Code = Code.Unavailable,
): AsyncGenerator<CellFrame> {
  const reader = new FrameReader(maxFrameBytes);
  const frames: CellFrame[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const onData = (piece: Uint8Array) => {
    try {
      for (const frame of reader.push(piece)) frames.push(frame);
    } catch (error) {
      failure ??= error;
      stream.off("data", onData);
    }
    if (frames.length >= FRAMES_AHEAD) stream.pause();
    wake?.();
  };
  const stopWatching = finished(stream, { writable: false }, (error) => {
    if (error) failure ??= error;
    else ended = true;
    wake?.();
  });
  stream.on("data", onData);
  try {
    for (;;) {
      const frame = frames.shift();
      if (frame !== undefined) {
        if (frames.length < FRAMES_AHEAD && failure === undefined) stream.resume();
        yield frame;
      } else if (failure !== undefined) throw failure;
      else if (ended) break;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    wake = undefined;
    stream.off("data", onData);
    stopWatching();
    if (!ended) stream.destroy();
  }
  if (!reader.atBoundary) throw new FedbridgeError(cutOffCode, "the stream ended inside a frame");
}

/**
 * Writes each frame of `frames` to `sink`, taking the next only once the sink has drained (so
 * frames wait in their queue, not in HTTP/2's buffers). Stops when `frames` ends, or early
 * when the sink closes; resolves whether it was closed.
 */
export async function writeFrames(
  sink: FrameSink,
  frames: AsyncIterable<CellFrame>,
): Promise<{ closed: boolean }> {
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  sink.once("close", onClose);
  try {
    for await (const frame of frames) {
      if (closed) break;
      let drained = true;
      for (const piece of encodeFrame(frame)) drained = sink.write(piece);
      if (drained || closed) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          sink.removeListener("drain", done);
          wake = undefined;
          resolve();
        };
        wake = done;
        sink.once("drain", done);
      });
      if (closed) break;
    }
  } finally {
    sink.removeListener("close", onClose);
  }
  return { closed };
}
