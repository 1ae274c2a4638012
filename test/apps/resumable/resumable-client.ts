// The quickstart's ClientApp, taking `delay-ms` in each message and saying which it handles,
// so a test can kill the server mid-phase and count how often each site trained a round.
import { setTimeout as sleep } from "node:timers/promises";
import { ClientApp, type Message } from "fedbridge";
import { app as quickstart } from "./client.ts";

const handle =
  (phase: string) => async (msg: Message, context: Parameters<typeof quickstart.call>[1]) => {
    const round = msg.content.configRecords.get("config")?.get("server-round");
    console.log(`partition ${context.nodeConfig["partition-id"]} ${phase} round ${round}`);
    await sleep(Number(context.runConfig["delay-ms"]));
    return quickstart.call(msg, context);
  };

export const app = new ClientApp().train(handle("trains")).evaluate(handle("evaluates"));
