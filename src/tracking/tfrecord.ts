import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { maskedCrc32c } from "./crc32c.ts";

/** Bytes of framing around each record: the length (8), its CRC (4) and the data's CRC (4). */
export const RECORD_OVERHEAD = 16;

/**
 * One record in TFRecord framing, the container of TensorBoard event files:
 * uint64 length (little-endian), masked CRC-32C of those 8 bytes, the data, masked CRC-32C of
 * the data.
 */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + RECORD_OVERHEAD);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** A record as read back: its data and where its framing starts in the file. */
export interface TfRecord {
  /** Byte offset of the record's length field. */
  offset: number;
  /** The record's data, a view into the input (not a copy). */
  data: Uint8Array;
}

export interface ReadRecordsOptions {
  /** Names the input in errors, such as a file path; default "TFRecord data". */
  source?: string;
  /**
   * What an incomplete last record means. Default "error". "ignore" ends quietly there, as
   * TensorBoard does for a file whose writer is still appending.
   */
  truncatedTail?: "error" | "ignore";
}

/**
 * Every record of `bytes`, in order, each checked against both of its CRCs. A mismatch is a
 * `Code.DataLoss` error naming the source and the record's byte offset, so a corrupted file is
 * never read as if it were whole.
 */
export function* readRecords(
  bytes: Uint8Array,
  options: ReadRecordsOptions = {},
): Generator<TfRecord> {
  const source = options.source ?? "TFRecord data";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const fail = (what: string) =>
      new FedbridgeError(Code.DataLoss, `${source}: record at byte ${offset}: ${what}`);
    if (bytes.length - offset < 12) {
      if (options.truncatedTail === "ignore") return;
      throw fail(`truncated header (${bytes.length - offset} bytes left)`);
    }
    const lengthCrc = view.getUint32(offset + 8, true);
    const expectedLengthCrc = maskedCrc32c(bytes.subarray(offset, offset + 8));
    if (lengthCrc !== expectedLengthCrc)
      throw fail(crcMessage("length", lengthCrc, expectedLengthCrc));
    const length = view.getBigUint64(offset, true);
    const end = BigInt(offset) + 12n + length + 4n;
    if (end > BigInt(bytes.length)) {
      if (options.truncatedTail === "ignore") return;
      throw fail(
        `truncated: ${length} bytes of data announced, ${bytes.length - offset - 12} left`,
      );
    }
    const start = offset + 12;
    const data = bytes.subarray(start, start + Number(length));
    const dataCrc = view.getUint32(start + data.length, true);
    const expectedDataCrc = maskedCrc32c(data);
    if (dataCrc !== expectedDataCrc) throw fail(crcMessage("data", dataCrc, expectedDataCrc));
    yield { offset, data };
    offset = Number(end);
  }
}

function crcMessage(part: string, stored: number, computed: number): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
  return `${part} CRC mismatch (stored ${hex(stored)}, computed ${hex(computed)})`;
}
