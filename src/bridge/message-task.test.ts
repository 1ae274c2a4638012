import { describe, expect, it } from "vitest";
import { Message } from "../flower-api/message/message.ts";
import { MessageType } from "../flower-api/message/message-type.ts";
import { ConfigRecord } from "../flower-api/records/config-record.ts";
import { RecordDict } from "../flower-api/records/record-dict.ts";
import { messageForSite, messagesToTask } from "./message-task.ts";

describe("messagesToTask", () => {
  it("sends the shared content once and each site's envelope to that site alone", () => {
    const content = new RecordDict({ config: new ConfigRecord({ "server-round": 3 }) });
    const sites = ["site-1", "site-2", "site-3"];
    const messages = sites.map((site, i) => ({
      site,
      message: new Message(content, { dstNodeId: BigInt(i + 10), messageType: MessageType.TRAIN }),
    }));
    const { data, siteMeta } = messagesToTask(messages);
    // 1,000 envelopes in the shared data would be parsed by each of 1,000 sites.
    expect(data.meta).toEqual({ round: 3 });
    expect(Object.keys(siteMeta)).toEqual(sites);
    // A site merges its own entries over the task's meta (site-task.ts) and finds its message.
    const atSite2 = messageForSite(
      { ...data, meta: { ...data.meta, ...siteMeta["site-2"] } },
      "site-2",
    );
    expect(atSite2.metadata.dstNodeId).toBe(11n);
    expect(atSite2.content.configRecords.get("config")?.get("server-round")).toBe(3);
    expect(() => messageForSite(data, "site-2")).toThrow("the task carries no message for site-2");
  });
});
