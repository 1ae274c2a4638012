// The quickstart's ClientApp, pausing `train-delay-ms` in train, so that a round lasts long
// enough (about a second) for the soak's faults to land in rounds rather than between bursts.
import { ClientApp } from "fedbridge";
import { app as quickstart } from "./client.ts";

export const app = new ClientApp()
  .train(async (msg, context) => {
    await new Promise((resolve) =>
      setTimeout(resolve, Number(context.runConfig["train-delay-ms"])),
    );
    return quickstart.call(msg, context);
  })
  .evaluate((msg, context) => quickstart.call(msg, context));
