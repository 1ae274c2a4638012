// The quickstart ClientApp, logging with a SummaryWriter as an app would. The test copies
// examples/quickstart beside this file (see tracking-runtime.test.ts).
import { ClientApp } from "fedbridge";
import { SummaryWriter } from "fedbridge/tracking";
import { app as quickstart } from "./client.ts";

const writer = new SummaryWriter();

export const app = new ClientApp()
  .train(async (msg, context) => {
    const reply = await quickstart.call(msg, context);
    const round = Number(msg.content.configRecords.get("config")?.get("server-round") ?? 0);
    writer.addScalar("app/partition", Number(context.nodeConfig["partition-id"]), round);
    try {
      writer.addScalar("app/broken", Number.NaN, round); // refused: the writer and the job go on
    } catch {}
    await writer.flush();
    return reply;
  })
  .evaluate((msg, context) => quickstart.call(msg, context));
