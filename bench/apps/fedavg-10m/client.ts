import { ArrayRecord, ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";

export const app = new ClientApp();

/** A trivial "training" step that changes every value, so the whole model travels back. */
app.train((msg, context) => {
  const shift = Number(context.nodeConfig["partition-id"] ?? 0) + 1;
  const arrays = msg.content.arrayRecords.get("arrays") as ArrayRecord;
  const trained = ArrayRecord.fromTypedArrays(
    [...arrays.values()].map((array) => ({
      values: (array.toTypedArray() as Float32Array).map((x) => x * 0.5 + shift),
      shape: array.shape,
    })),
  );
  return new Message(
    new RecordDict({ arrays: trained, metrics: new MetricRecord({ "num-examples": 1 }) }),
    { replyTo: msg },
  );
});
