// The quickstart ClientApp with a pause in train, so a test can kill a node mid-round.
// The test copies examples/quickstart beside these files (see deployment.test.ts).
import { setTimeout as sleep } from "node:timers/promises";
import { ClientApp } from "fedbridge";
import { app as quickstart } from "./client.ts";

export const app = new ClientApp()
  .train(async (msg, context) => {
    await sleep(Number(context.runConfig["train-delay-ms"]));
    return quickstart.call(msg, context);
  })
  .evaluate((msg, context) => quickstart.call(msg, context));
