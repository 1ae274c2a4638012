import { ClientApp } from "../../app/client-app.ts";
import { Message } from "../../message/message.ts";
import { ConfigRecord } from "../../records/config-record.ts";
import { MetricRecord } from "../../records/metric-record.ts";
import { RecordDict } from "../../records/record-dict.ts";

/**
 * A ClientApp for tests of handlers that do not return: `train` counts its calls in the node's
 * state and replies with the count, unless the message's config says `spin` (a loop that never
 * yields) or `hang` (a promise that never settles).
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
  return new Message(new RecordDict({ metrics: new MetricRecord({ calls }) }), { replyTo: msg });
});
