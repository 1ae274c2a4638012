import { ClientApp, ConfigRecord, Message, RecordDict } from "fedbridge";

/** Answers a query with the node's config. */
export const app = new ClientApp().query(
  (msg, context) =>
    new Message(new RecordDict({ node: new ConfigRecord(context.nodeConfig) }), { replyTo: msg }),
);
