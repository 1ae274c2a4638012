import { ArrayRecord, ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";

/** pyquick.client_app in TypeScript: node p answers with the model filled with p+1, num-examples 10(p+1). */
export const app = new ClientApp().train((msg, context) => {
  const p = Number(context.nodeConfig["partition-id"]);
  const arrays = msg.content.arrayRecords.get("arrays") ?? new ArrayRecord();
  const filled = ArrayRecord.fromTypedArrays(
    [...arrays.values()].map((array) => ({
      values: new Float32Array(array.toTypedArray().length).fill(p + 1),
      shape: array.shape,
    })),
  );
  return new Message(
    new RecordDict({ arrays: filled, metrics: new MetricRecord({ "num-examples": 10 * (p + 1) }) }),
    { replyTo: msg },
  );
});
