import { Message } from "../message/message.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { computeClipModelUpdate, floatArraysOf, withValues } from "./differential-privacy.ts";

/**
 * Server-side clipping of the replies of a round: each ArrayRecord of each reply becomes
 * `current + clip(reply − current)`, in new messages (the replies themselves are left as they
 * were). `clippedCount` counts the ArrayRecords that were scaled down, as Flower counts them.
 */
export function clipReplies(
  replies: readonly Message[],
  current: ArrayRecord,
  clippingNorm: number,
): { replies: Message[]; clippedCount: number } {
  const base = floatArraysOf(current, "server-side clipping");
  let clippedCount = 0;
  const clipped = replies.map((reply) => {
    const content = new RecordDict();
    for (const [key, record] of reply.content) {
      if (record instanceof ArrayRecord) {
        const what = `server-side clipping of node ${reply.metadata.srcNodeId}`;
        const values = floatArraysOf(record, what);
        if (computeClipModelUpdate(values, base, clippingNorm)) clippedCount++;
        content.set(key, withValues(record, values));
      } else {
        content.set(key, record);
      }
    }
    return new Message(content, { metadata: reply.metadata });
  });
  return { replies: clipped, clippedCount };
}
