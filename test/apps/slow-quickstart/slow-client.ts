// The quickstart ClientApp with a pause in train, so a test can kill a node mid-round.
// The test copies examples/quickstart beside these files (see deployment.test.ts). A plain
// timer, not node:timers: web-node.browser.test.ts bundles this app for the browser.
import { ClientApp } from "fedbridge";
import { app as quickstart } from "./client.ts";

export const app = new ClientApp()
  .train(async (msg, context) => {
    const delay = Number(context.runConfig["train-delay-ms"]);
    await new Promise((resolve) => setTimeout(resolve, delay));
    return quickstart.call(msg, context);
  })
  .evaluate((msg, context) => quickstart.call(msg, context));
