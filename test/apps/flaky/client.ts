// The quickstart ClientApp, except that node 1's train handler always throws.
import { ClientApp } from "fedbridge";
import { app as quickstart } from "../../../examples/quickstart/client.ts";

export const app = new ClientApp({
  mods: [
    (msg, context, next) => {
      if (context.nodeConfig["partition-id"] === 1 && msg.metadata.messageType === "train") {
        throw new RangeError("partition 1 has no data today");
      }
      return next(msg, context);
    },
  ],
})
  .train((msg, context) => quickstart.call(msg, context))
  .evaluate((msg, context) => quickstart.call(msg, context));
