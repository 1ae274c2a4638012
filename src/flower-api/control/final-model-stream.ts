/**
 * A run's final model on the control API's event stream, in pieces. Sent as one event, a 1 GB
 * model was encoded into one message and framed by gRPC into another: 2 GB more on a SuperLink
 * that already held the model, just as the run ended. Its arrays' bytes now go first, a
 * FinalArrayBytes event at most FINAL_PIECE_BYTES each, then runFinished without them;
 * FinalModelAssembler puts them back on the follower's side.
 */
import { create } from "@bufbuild/protobuf";
import { copyBytes } from "../../core/copy-bytes.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  type FinalArrayBytes,
  type RunEvent,
  RunEventSchema,
  type RunFinished,
} from "../../gen/fedbridge/v1/control_pb.ts";
import type { Array as ProtoArray } from "../../gen/flwr/proto/recorddict_pb.ts";

/** The most bytes of the model one event carries. */
export const FINAL_PIECE_BYTES = 2 ** 20;

const NO_BYTES = new Uint8Array(0);

/** An array's bytes at most: a Uint8Array's limit here (and twice what a Flower message holds). */
const MAX_ARRAY_BYTES = BigInt(2 ** 32 - 1);

/** The items of a final model's ArrayRecord in a runFinished event; none for other events. */
function finalItems(event: RunEvent) {
  return event.event.case === "runFinished" ? (event.event.value.result?.arrays?.items ?? []) : [];
}

/** The arrays of a final model in a runFinished event, in order. */
export function finalArrays(event: RunEvent): ProtoArray[] {
  return finalItems(event).flatMap((item) => (item.value ? [item.value] : []));
}

/** `event` with its final model's arrays empty of bytes (names, dtypes and shapes kept). */
export function withoutBytes(event: RunEvent): RunEvent {
  if (event.event.case !== "runFinished") return event;
  const finished = event.event.value;
  const { result } = finished;
  const arrays = result?.arrays && {
    ...result.arrays,
    items: result.arrays.items.map((item) => ({
      ...item,
      value: item.value && { ...item.value, data: NO_BYTES },
    })),
  };
  return {
    ...event,
    event: { case: "runFinished", value: { ...finished, result: result && { ...result, arrays } } },
  };
}

/**
 * The events that carry `event` on the stream: itself, unless it ends a run with a model; then
 * its arrays' bytes in pieces (views, nothing copied), and last the event without them.
 */
export function* streamedEvents(event: RunEvent): Generator<RunEvent> {
  const items = finalItems(event);
  if (items.every((item) => !item.value?.data.byteLength)) {
    yield event;
    return;
  }
  for (const [index, { value }] of items.entries()) {
    if (value === undefined) continue; // an item without an array: nothing to send
    const { data } = value;
    const size = BigInt(data.byteLength);
    // An empty array still sends one piece: the follower checks that every array came.
    for (let at = 0; at === 0 || at < data.byteLength; at += FINAL_PIECE_BYTES) {
      const piece = data.subarray(at, at + FINAL_PIECE_BYTES);
      yield create(RunEventSchema, {
        event: { case: "finalArrayBytes", value: { index, size, offset: BigInt(at), data: piece } },
      });
    }
  }
  yield withoutBytes(event);
}

/** The final model's bytes as their pieces arrive, given back to runFinished at the end. */
export class FinalModelAssembler {
  readonly #arrays = new Map<number, { bytes: Uint8Array; filled: number }>();
  /** The index of the array whose pieces are arriving; arrays come in order. */
  #current = -1;

  add({ index, size, offset, data }: FinalArrayBytes): void {
    let array = this.#arrays.get(index);
    if (array === undefined) {
      if (index <= this.#current) throw broken(`array ${index} came after ${this.#current}`);
      if (size > MAX_ARRAY_BYTES)
        throw broken(`array ${index} of ${size} bytes, more than one array can hold`);
      array = { bytes: new Uint8Array(Number(size)), filled: 0 };
      this.#arrays.set(index, array);
      this.#current = index;
    } else if (index !== this.#current || BigInt(array.bytes.byteLength) !== size) {
      throw broken(`a piece of array ${index} came late or with another size`);
    }
    if (offset !== BigInt(array.filled)) throw broken(`array ${index} skipped to byte ${offset}`);
    if (array.filled + data.byteLength > array.bytes.byteLength)
      throw broken(`array ${index} got more than its ${size} bytes`);
    copyBytes(array.bytes, data, array.filled);
    array.filled += data.byteLength;
  }

  /**
   * `finished` with its arrays' bytes put back; throws where some are missing. Without any
   * pieces, `finished` is as it came (a run without a model, or a model of empty arrays).
   */
  complete(finished: RunFinished): RunFinished {
    const items = finished.result?.arrays?.items ?? [];
    if (this.#arrays.size > 0)
      for (const [index, { value }] of items.entries())
        if (value !== undefined && !this.#arrays.has(index))
          throw broken(`array ${index} never came`);
    for (const [index, { bytes, filled }] of this.#arrays) {
      const value = items[index]?.value;
      if (value === undefined)
        throw broken(`pieces came for array ${index}, which the model lacks`);
      if (filled !== bytes.byteLength)
        throw broken(`array ${index} got ${filled} of its ${bytes.byteLength} bytes`);
      value.data = bytes;
    }
    this.#arrays.clear();
    this.#current = -1;
    return finished;
  }
}

const broken = (what: string) =>
  new FedbridgeError(Code.DataLoss, `the run's final model arrived broken: ${what}`);
