import { describe, expect, it } from "vitest";
import { createContext } from "../app/context.ts";
import { ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InlineClientApp } from "./inline-client-app.ts";

const SLEEPY = new URL("./testing/sleepy-clientapp.ts", import.meta.url).href;

function train(config: Record<string, boolean> = {}, ttl = 3600): Message {
  const content = new RecordDict({ config: new ConfigRecord(config) });
  return new Message(content, { dstNodeId: 7n, messageType: "train", ttl });
}

const calls = (reply: Message) => reply.content.metricRecords.get("metrics")?.get("calls");

describe("InlineClientApp", () => {
  it("keeps each node's state in its own Context, on the calling thread", async () => {
    const app = new InlineClientApp(SLEEPY);
    const a = createContext({ runId: 1n, nodeId: 7n });
    const b = createContext({ runId: 1n, nodeId: 8n });
    expect(calls(await app.handle(train(), a))).toBe(1);
    expect(calls(await app.handle(train(), a))).toBe(2);
    expect(calls(await app.handle(train(), b))).toBe(1);
    expect(a.state.configRecords.get("counter")?.get("calls")).toBe(2);
  });

  it("answers a handler that outlives its TTL with an error and drops its state change", async () => {
    const app = new InlineClientApp(SLEEPY);
    const context = createContext({ runId: 1n, nodeId: 7n });
    await app.handle(train(), context);
    const stuck = await app.handle(train({ hang: true }, 2), context);
    expect(stuck.error.code).toBe(ErrorCode.CLIENT_APP_CRASHED);
    expect(stuck.error.reason).toMatch(/did not reply within the message's TTL \(2 s\)/);
    expect(calls(await app.handle(train(), context))).toBe(2);
  });

  it("gives up on a handler when its run is stopped", async () => {
    const app = new InlineClientApp(SLEEPY);
    const context = createContext({ runId: 1n, nodeId: 7n });
    const stop = new AbortController();
    const hanging = app.handle(train({ hang: true }), context, stop.signal);
    setTimeout(() => stop.abort(), 100);
    expect((await hanging).error.reason).toMatch(/run was stopped/);
    expect((await app.handle(train(), context)).hasContent()).toBe(true);
  });

  it("answers every message with LOAD_CLIENT_APP_EXCEPTION when the app cannot load", async () => {
    const app = new InlineClientApp(new URL("./protocol.ts", import.meta.url).href);
    await expect(app.start()).rejects.toThrow(/no export named `app`/);
    const reply = await app.handle(train(), createContext({ runId: 1n, nodeId: 7n }));
    expect(reply.error.code).toBe(ErrorCode.LOAD_CLIENT_APP_EXCEPTION);
  });
});
