// examples/mnist's ClientApp, saying which round each site trains and evaluates, so a test can
// kill the server mid-round and count how often each site handled a round.
import { ClientApp, type Message } from "fedbridge";
import { app as mnist } from "./client.ts";

const handle =
  (phase: string) => async (msg: Message, context: Parameters<typeof mnist.call>[1]) => {
    const round = msg.content.configRecords.get("config")?.get("server-round");
    console.log(`partition ${context.nodeConfig["partition-id"]} ${phase} round ${round}`);
    return mnist.call(msg, context);
  };

export const app = new ClientApp().train(handle("trains")).evaluate(handle("evaluates"));
