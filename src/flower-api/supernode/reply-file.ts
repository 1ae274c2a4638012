/**
 * A reply kept in a file of the node's work folder, where a model-sized one costs no memory
 * between rounds: its message bytes with the arrays' bytes apart (message-serde's parts, in a
 * parts file), so the reply read back decodes its arrays as views.
 */
import { readPartsFile, writePartsFile } from "../../core/parts-file.ts";
import type { Message } from "../message/message.ts";
import { messageFromParts, messageToParts } from "../message/message-serde.ts";

/** Writes `reply` to `path` (past the page cache); its arrays are written from where they lie. */
export async function writeReplyFile(path: string, reply: Message): Promise<void> {
  // Large arrays come as views, uncopied: they are only read here.
  const { header, arrays } = messageToParts(reply, true);
  await writePartsFile(path, { header, parts: arrays });
}

/** The reply `writeReplyFile` wrote at `path`, its arrays views of one buffer. */
export async function readReplyFile(path: string): Promise<Message> {
  const { header, parts } = await readPartsFile(path);
  return messageFromParts({ header, arrays: parts });
}
