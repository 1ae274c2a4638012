import { ClientApp } from "../../app/client-app.ts";
import { Message } from "../../message/message.ts";
import { ArrayRecord } from "../../records/array-record.ts";
import { ConfigRecord } from "../../records/config-record.ts";
import { MetricRecord } from "../../records/metric-record.ts";
import { RecordDict } from "../../records/record-dict.ts";

/**
 * A ClientApp for tests of handlers that do not return: `train` counts its calls in the node's
 * state and replies with the count, unless the message's config says `spin` (a loop that never
 * yields) or `hang` (a promise that never settles); with `array` it also replies an array.
 */
export const app = new ClientApp();
app.train((msg, context) => {
  const config = msg.content.configRecords.get("config");
  const counter = context.state.configRecords.get("counter") ?? new ConfigRecord({ calls: 0 });
  const calls = Number(counter.get("calls")) + 1;
  counter.set("calls", calls);
  context.state.set("counter", counter);
  if (config?.get("spin") === true) for (;;);
  if (config?.get("hang") === true) return new Promise<Message>(() => {});
  const content = new RecordDict({ metrics: new MetricRecord({ calls }) });
  if (config?.get("array") === true)
    content.set(
      "arrays",
      ArrayRecord.fromTypedArrays([{ values: new Float32Array([calls, 2]), shape: [2] }]),
    );
  return new Message(content, { replyTo: msg });
});
