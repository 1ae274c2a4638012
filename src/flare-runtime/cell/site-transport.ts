/**
 * A site's connection to the server: HTTP/2 over mTLS, one per attempt, closed for sure by
 * `close()`, carrying the cell stream as a gRPC call (CellService.Connect). Node's HTTP/2
 * starts every stream and connection with a 64 KiB receive window, which caps a stream at
 * 64 KiB per round trip (about 1 MB/s at a 50 ms WAN distance); the cells do their own flow
 * control with credits, so the HTTP/2 windows are opened wide enough never to be the narrower
 * limit, and DATA frames may be as large as a chunk.
 */
import * as http2 from "node:http2";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { widenReceiveWindow } from "../../core/wire/http2-window.ts";
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";
import { HTTP2_WINDOW_BYTES, MAX_FRAME_BYTES } from "./cell-options.ts";
import { CELL_PATH, GRPC_CONTENT_TYPE } from "./frame-codec.ts";
import { readFrames, writeFrames } from "./frame-stream.ts";

export interface CellConnection {
  /**
   * Opens the cell stream: sends `outbound`, yields the server's frames. Ends when the server
   * ends the stream with OK; throws a FedbridgeError with the server's status otherwise, or
   * UNAVAILABLE when the server cannot be reached.
   */
  frames(outbound: AsyncIterable<CellFrame>, signal: AbortSignal): AsyncGenerator<CellFrame>;
  /** Closes the connection and every stream on it. */
  close(): void;
}

export function connectCell(
  url: string,
  tls: { ca: string; cert: string; key: string },
): CellConnection {
  const session = http2.connect(url, {
    ...tls,
    settings: { initialWindowSize: HTTP2_WINDOW_BYTES, maxFrameSize: 2 ** 20 },
  });
  const unreachable = (error: Error) =>
    new FedbridgeError(Code.Unavailable, `cannot reach ${url}: ${error.message}`);
  let failure: FedbridgeError | undefined;
  session.on("error", (error: Error) => {
    failure ??= unreachable(error);
  });
  session.once("connect", () => widenReceiveWindow(session));
  return {
    async *frames(outbound, signal) {
      const stream = session.request(
        {
          ":method": "POST",
          ":path": CELL_PATH,
          "content-type": GRPC_CONTENT_TYPE,
          te: "trailers",
        },
        { signal },
      );
      const status = new CallStatus(stream);
      stream.on("error", () => {}); // read below, as the reason the frames stopped
      void writeFrames(stream, outbound).then(
        ({ closed }) => closed || stream.end(),
        () => stream.close(http2.constants.NGHTTP2_CANCEL),
      );
      // Trailers arrive before the end of the server's side, so once the frames end, the
      // status is known: no need to wait for the stream to close.
      try {
        yield* readFrames(stream, MAX_FRAME_BYTES);
      } catch (reason) {
        if (reason instanceof FedbridgeError) throw reason; // a frame that could not be read
        throw (
          failure ??
          status.error() ??
          (reason instanceof Error ? unreachable(reason) : FedbridgeError.from(reason))
        );
      } finally {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      const error = status.error() ?? failure;
      if (error) throw error;
      if (!status.reported)
        throw new FedbridgeError(Code.Unavailable, "the server ended the stream without a status");
    },
    close: () => session.destroy(),
  };
}

/**
 * The gRPC status of a call, from its trailers (or its headers, for a reply with no body):
 * `error()` is undefined for OK and for no status at all, else the server's code and message.
 */
class CallStatus {
  #headers: http2.IncomingHttpHeaders = {};

  constructor(stream: http2.ClientHttp2Stream) {
    stream.on("response", (headers) => {
      this.#headers = headers;
    });
    stream.on("trailers", (trailers) => {
      this.#headers = { ...this.#headers, ...trailers };
    });
  }

  /** Whether the server said a gRPC status (or answered HTTP at all but 200). */
  get reported(): boolean {
    const http = this.#headers[":status"];
    return (
      this.#headers["grpc-status"] !== undefined || (http !== undefined && Number(http) !== 200)
    );
  }

  error(): FedbridgeError | undefined {
    const status = this.#headers["grpc-status"];
    if (status === undefined) {
      const http = this.#headers[":status"];
      return http === undefined || Number(http) === 200
        ? undefined
        : new FedbridgeError(Code.Unavailable, `the server answered HTTP ${http}`);
    }
    const code = Number(status);
    if (code === 0) return undefined;
    const message = this.#headers["grpc-message"];
    return new FedbridgeError(
      Number.isInteger(code) && code > 0 && code <= 16 ? (code as Code) : Code.Unknown,
      typeof message === "string" ? safeDecode(message) : `status ${code}`,
    );
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
