import { describe, expect, it } from "vitest";
import { Controller } from "../flare-runtime/controller/controller.ts";
import { createInMemoryJob } from "../flare-runtime/workflows/testing/in-memory-job.ts";
import { silentObserver } from "../flower-api/app/run-observer.ts";
import { ErrorCode } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";
import { MessageType } from "../flower-api/message/message-type.ts";
import { ConfigRecord } from "../flower-api/records/config-record.ts";
import { MetricRecord } from "../flower-api/records/metric-record.ts";
import { RecordDict } from "../flower-api/records/record-dict.ts";
import { messageForSite, replyToShareable } from "./message-task.ts";
import { RuntimeGrid } from "./runtime-grid.ts";
import { siteNodes } from "./site-nodes.ts";

describe("RuntimeGrid", () => {
  it("drops a site's result that comes after the phase timed out, rather than keeping it", async () => {
    const sites = ["site-1", "site-2"];
    let release = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = createInMemoryJob(sites, async (site, _task, data) => {
      const message = messageForSite(data, site);
      if (site === "site-2") await slow;
      const metrics = new MetricRecord({ ok: 1 });
      return replyToShareable(new Message(new RecordDict({ metrics }), { replyTo: message }));
    });
    const grid = new RuntimeGrid(
      { runId: 1n, runConfig: {} },
      silentObserver,
      siteNodes(sites),
      new Controller(job),
    );
    const messages = (await grid.getNodeIds()).map((node) =>
      grid.createMessage(
        new RecordDict({ config: new ConfigRecord({ x: 1 }) }),
        MessageType.QUERY,
        node,
      ),
    );
    const replies = await grid.sendAndReceive(messages, { timeout: 0.2 });
    expect(replies.map((r) => (r.hasError() ? r.error.code : "ok"))).toEqual([
      "ok",
      ErrorCode.REPLY_MESSAGE_UNAVAILABLE,
    ]);

    release();
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      if (job.logs.some((line) => line.includes("after its phase's timeout is dropped"))) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(job.logs).toContain(
      "site-2: a result that came after its phase's timeout is dropped (the ServerApp counted it as no reply)",
    );
    // Nothing is left for anyone to take: the late reply was not kept.
    const lateId = (messages[1] as Message).metadata.messageId;
    expect(await grid.pullMessages([lateId])).toEqual([]);
  });
});
