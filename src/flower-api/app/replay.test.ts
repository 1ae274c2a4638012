import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { ConfigRecord } from "../records/config-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { Replay } from "./replay.ts";

const message = (node: bigint, lr: number) =>
  new Message(new RecordDict({ config: new ConfigRecord({ lr }) }), {
    dstNodeId: node,
    messageType: "train",
  });

/** The keys a first run gave its messages, as a journal would hold them. */
function journalOf(messages: Message[]) {
  const first = new Replay(new Map());
  return new Map(
    messages.map((m, i) => [first.key(m), { seq: i + 1, node: `node ${m.metadata.dstNodeId}` }]),
  );
}

describe("Replay", () => {
  it("knows a message sent again by what it is, not when it was made", () => {
    const journal = journalOf([message(2n, 0.1), message(3n, 0.1), message(2n, 0.1)]);
    const replay = new Replay(journal);
    expect(replay.replaying).toBe(true);
    // The same three messages, made again later: each answered from the journal, once.
    for (const m of [message(2n, 0.1), message(3n, 0.1), message(2n, 0.1)])
      expect(replay.take(replay.key(m))).toBe(true);
    replay.check([]);
    // A fourth goes out live: the replay is over, and nothing was left behind.
    expect(replay.take(replay.key(message(2n, 0.1)))).toBe(false);
    replay.check([{ node: "node 2", type: "train" }]);
    expect(replay.replaying).toBe(false);
    replay.finish();
  });

  it("calls a ServerApp that sends something else after a restart not deterministic", () => {
    const replay = new Replay(journalOf([message(2n, 0.1), message(3n, 0.1)]));
    expect(replay.take(replay.key(message(2n, 0.1)))).toBe(true);
    // Node 3 is sent other content than before.
    expect(replay.take(replay.key(message(3n, 0.2)))).toBe(false);
    expect(() => replay.check([{ node: "node 3", type: "train" }])).toThrow(
      /the ServerApp is not deterministic: .*to node 3 that it had not sent before, while the reply of node 3 to its message #2 was never asked for again/,
    );
  });

  it("calls a run that ends before replaying its journal not deterministic", () => {
    const replay = new Replay(journalOf([message(2n, 0.1)]));
    expect(() => replay.finish()).toThrow(
      /it ended without sending again its message #1 to node 2/,
    );
  });
});
