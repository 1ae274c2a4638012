import { ArrayRecord, ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";

export const app = new ClientApp();

/**
 * Replies with every value changed (x / 2 + partition-id + 1), so the whole model travels back
 * and no two nodes' replies are alike.
 */
app.train((msg, context) => {
  const shift = Number(context.nodeConfig["partition-id"] ?? 0) + 1;
  const arrays = msg.content.arrayRecords.get("arrays") as ArrayRecord;
  const changed = ArrayRecord.fromTypedArrays(
    [...arrays.values()].map((array) => {
      const values = array.toTypedArray() as Float32Array;
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = values[i] * 0.5 + shift;
      return { values: out, shape: array.shape };
    }),
  );
  return new Message(
    new RecordDict({ arrays: changed, metrics: new MetricRecord({ "num-examples": 1 }) }),
    { replyTo: msg },
  );
});
