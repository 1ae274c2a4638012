import { ArrayRecord, ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";

export const app = new ClientApp();

/** Replies with every value changed (x / 2 + 1), so the whole model travels back. */
app.train((msg) => {
  const arrays = msg.content.arrayRecords.get("arrays") as ArrayRecord;
  const changed = ArrayRecord.fromTypedArrays(
    [...arrays.values()].map((array) => ({
      values: (array.toTypedArray() as Float32Array).map((x) => x * 0.5 + 1),
      shape: array.shape,
    })),
  );
  return new Message(
    new RecordDict({ arrays: changed, metrics: new MetricRecord({ "num-examples": 1 }) }),
    { replyTo: msg },
  );
});
