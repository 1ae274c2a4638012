/**
 * Builders for the frames of proto/fedbridge/v1/cell.proto, so the rest of the cell layer
 * speaks in numbers and never spells out oneof cases or bigint conversions. Ids, sequence
 * numbers and sizes are uint64 on the wire and JS numbers here (exact up to 2^53).
 */
import { create } from "@bufbuild/protobuf";
import type { FedbridgeError } from "../../core/fedbridge-error.ts";
import { type CellFrame, CellFrameSchema } from "../../gen/fedbridge/v1/cell_pb.ts";

/** The version of the frames this code speaks; Hello and Welcome carry it. */
export const CELL_PROTOCOL_VERSION = 1;

type Kind = NonNullable<CellFrame["kind"]["case"]>;

/** The kind of a frame, or "unknown" for one with no kind this version knows. */
export function frameKind(frame: CellFrame): Kind | "unknown" {
  return frame.kind.case ?? "unknown";
}

export const frames = {
  hello: (value: { site: string; instance: string; window: number }): CellFrame =>
    create(CellFrameSchema, {
      kind: { case: "hello", value: { ...value, protocolVersion: CELL_PROTOCOL_VERSION } },
    }),

  welcome: (value: {
    server: string;
    instance: string;
    window: number;
    heartbeatIntervalMs: number;
  }): CellFrame =>
    create(CellFrameSchema, {
      kind: { case: "welcome", value: { ...value, protocolVersion: CELL_PROTOCOL_VERSION } },
    }),

  heartbeat: (): CellFrame =>
    create(CellFrameSchema, {
      kind: { case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } },
    }),

  request: (r: {
    id: number;
    topic: string;
    payload?: Uint8Array;
    chunked?: boolean;
    size?: number;
    timeoutMs: number;
    settledBelow: number;
  }): CellFrame =>
    create(CellFrameSchema, {
      kind: {
        case: "request",
        value: {
          id: BigInt(r.id),
          topic: r.topic,
          payload: r.payload ?? new Uint8Array(0),
          chunked: r.chunked ?? false,
          size: BigInt(r.size ?? 0),
          timeoutMs: Number.isFinite(r.timeoutMs)
            ? Math.min(Math.ceil(r.timeoutMs), 2 ** 32 - 1)
            : 0,
          settledBelow: BigInt(r.settledBelow),
        },
      },
    }),

  reply: (id: number, payload: Uint8Array, chunked = false, size = 0): CellFrame =>
    create(CellFrameSchema, {
      kind: { case: "reply", value: { id: BigInt(id), payload, chunked, size: BigInt(size) } },
    }),

  errorReply: (id: number, error: FedbridgeError): CellFrame =>
    create(CellFrameSchema, {
      kind: {
        case: "reply",
        value: { id: BigInt(id), errorCode: error.code, errorMessage: error.message },
      },
    }),

  chunk: (c: {
    id: number;
    reply: boolean;
    seq: number;
    data: Uint8Array;
    last: boolean;
    error?: FedbridgeError | undefined;
  }): CellFrame =>
    create(CellFrameSchema, {
      kind: {
        case: "chunk",
        value: {
          id: BigInt(c.id),
          reply: c.reply,
          seq: BigInt(c.seq),
          data: c.data,
          last: c.last,
          errorCode: c.error?.code ?? 0,
          errorMessage: c.error?.message ?? "",
        },
      },
    }),

  credit: (id: number, reply: boolean, consumed: number): CellFrame =>
    create(CellFrameSchema, {
      kind: { case: "credit", value: { id: BigInt(id), reply, consumed: BigInt(consumed) } },
    }),

  cancel: (id: number, reason: string): CellFrame =>
    create(CellFrameSchema, { kind: { case: "cancel", value: { id: BigInt(id), reason } } }),
};
