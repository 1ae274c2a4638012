import { ClientApp, Message, MetricRecord, RecordDict } from "fedbridge";

/** Answers a query at once, or (config `spin`) never: a loop that does not yield. */
export const app = new ClientApp().query((msg) => {
  if (msg.content.configRecords.get("config")?.get("spin") === true) for (;;);
  return new Message(new RecordDict({ metrics: new MetricRecord({ ok: 1 }) }), { replyTo: msg });
});
