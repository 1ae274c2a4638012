import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { ClientApp } from "./client-app.ts";
import { createContext } from "./context.ts";
import type { Mod } from "./mod.ts";
import { runClientApp } from "./run-client-app.ts";

const context = createContext({ runId: 1n, nodeId: 2n });
const instruction = (messageType: string) => {
  const msg = new Message(new RecordDict(), { dstNodeId: 2n, messageType });
  msg.metadata.messageId = "m1";
  return msg;
};
const echo = (tag: string) => (msg: Message) =>
  new Message(new RecordDict({ config: new ConfigRecord({ handler: tag }) }), { replyTo: msg });
const handlerOf = (reply: Message) => reply.content.configRecords.get("config")?.get("handler");

describe("ClientApp", () => {
  it("routes by category and action", async () => {
    const app = new ClientApp()
      .train(echo("train"))
      .train("finetune", echo("finetune"))
      .evaluate(echo("evaluate"));
    expect(handlerOf(await app.call(instruction("train"), context))).toBe("train");
    expect(handlerOf(await app.call(instruction("train.finetune"), context))).toBe("finetune");
    expect(handlerOf(await app.call(instruction("evaluate"), context))).toBe("evaluate");
    await expect(app.call(instruction("query"), context)).rejects.toThrow(
      /no query function registered with name 'default'/,
    );
    await expect(app.call(instruction("fit"), context)).rejects.toThrow(
      /invalid message type 'fit'/,
    );
  });

  it("composes mods in Flower's order: app mods outermost, first listed first", async () => {
    const seen: string[] = [];
    const mod =
      (name: string): Mod =>
      async (msg, ctx, next) => {
        seen.push(`${name}>`);
        const reply = await next(msg, ctx);
        seen.push(`<${name}`);
        return reply;
      };
    const app = new ClientApp({ mods: [mod("a"), mod("b")] }).train("default", echo("t"), {
      mods: [mod("c")],
    });
    await app.call(instruction("train"), context);
    expect(seen).toEqual(["a>", "b>", "c>", "<c", "<b", "<a"]);
  });

  it("runs the lifespan around each message", async () => {
    const seen: string[] = [];
    const app = new ClientApp()
      .lifespan(function* () {
        seen.push("enter");
        yield;
        seen.push("exit");
      })
      .train((msg) => {
        seen.push("handle");
        return echo("t")(msg);
      });
    await app.call(instruction("train"), context);
    expect(seen).toEqual(["enter", "handle", "exit"]);
  });

  it("turns a throwing handler or a wrong reply into an error reply", async () => {
    const app = new ClientApp()
      .train(() => {
        throw new Error("out of data");
      })
      .evaluate(() => new Message(new RecordDict(), { dstNodeId: 1n, messageType: "evaluate" }));
    const thrown = await runClientApp(app, instruction("train"), context);
    expect(thrown.error.code).toBe(2); // CLIENT_APP_RAISED_EXCEPTION
    expect(thrown.error.reason).toContain("out of data");
    expect(thrown.metadata.replyToMessageId).toBe("m1");
    const wrong = await runClientApp(app, instruction("evaluate"), context);
    expect(wrong.error.reason).toMatch(/not a reply to the instruction/);
  });
});
