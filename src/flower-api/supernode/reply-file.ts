/**
 * A reply kept in a file of the node's work folder, where a model-sized one costs no memory
 * between rounds: its message bytes with the arrays' bytes apart (message-serde's parts), each
 * array at an 8-byte-aligned offset, so the reply read back decodes its arrays as views.
 *
 * Layout: u32 header length, u32 array count, f64 length of each array, the header, then each
 * array, every part after the lengths starting at a multiple of 8 (zero padding).
 */

import { readFileDirect, writeWhole } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Message } from "../message/message.ts";
import { messageFromParts, messageToParts } from "../message/message-serde.ts";

const ALIGN = 8;
const ZEROS = new Uint8Array(ALIGN);

/** Writes `reply` to `path` (past the page cache); its arrays are written from where they lie. */
export async function writeReplyFile(path: string, reply: Message): Promise<void> {
  // Large arrays come as views, uncopied: they are only read here.
  const { header, arrays } = messageToParts(reply, true);
  const lengths = new Uint8Array(8 + 8 * arrays.length);
  const view = new DataView(lengths.buffer);
  view.setUint32(0, header.byteLength, true);
  view.setUint32(4, arrays.length, true);
  for (const [i, array] of arrays.entries()) view.setFloat64(8 + 8 * i, array.byteLength, true);
  const pieces = [lengths, ...[header, ...arrays].flatMap((part) => [part, padding(part)])];
  await writeWhole(path, pieces);
}

/** The reply `writeReplyFile` wrote at `path`, its arrays views of one buffer. */
export async function readReplyFile(path: string): Promise<Message> {
  const bytes = await readFileDirect(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = () => new FedbridgeError(Code.DataLoss, `kept reply ${path} is cut short`);
  if (bytes.byteLength < 8) throw corrupt();
  const count = view.getUint32(4, true);
  let at = 8 + 8 * count;
  const part = (length: number) => {
    if (at + length > bytes.byteLength) throw corrupt();
    const slice = bytes.subarray(at, at + length);
    at += length + padding(slice).byteLength;
    return slice;
  };
  if (at > bytes.byteLength) throw corrupt();
  const header = part(view.getUint32(0, true));
  const arrays = Array.from({ length: count }, (_, i) => part(view.getFloat64(8 + 8 * i, true)));
  return messageFromParts({ header, arrays });
}

function padding(part: Uint8Array): Uint8Array {
  return ZEROS.subarray(0, (ALIGN - (part.byteLength % ALIGN)) % ALIGN);
}
