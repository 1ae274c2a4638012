import { describe, expect, it } from "vitest";
import { Message } from "../message/message.ts";
import { RecordDict } from "../records/record-dict.ts";
import { InMemoryGrid } from "../simulation/in-memory-grid.ts";
import { ClientApp } from "./client-app.ts";
import { BaseGrid } from "./grid.ts";
import { ReplyBox } from "./reply-box.ts";

/**
 * A grid whose nodes answer at the worst moment for a waiter: each pull takes what has
 * arrived, then every instruction delivered so far is answered at once, in the same tick,
 * before the caller gets to wait.
 */
class AnswerAfterPullGrid extends BaseGrid {
  readonly #box = new ReplyBox();
  readonly #unanswered: Message[] = [];

  constructor() {
    super({ runId: 1n, runConfig: {} });
  }

  async getNodeIds(): Promise<bigint[]> {
    return [2n];
  }

  protected async deliver(messages: readonly Message[]): Promise<void> {
    this.#unanswered.push(...messages);
  }

  async pullMessages(messageIds: Iterable<string>): Promise<Message[]> {
    const pulled = this.#box.take(messageIds);
    for (const ins of this.#unanswered.splice(0)) {
      this.#box.put(new Message(new RecordDict(), { replyTo: ins }));
    }
    return pulled;
  }

  protected waitForReplies(ms: number): Promise<void> {
    return this.#box.wait(ms);
  }
}

/**
 * A lost wake-up makes `sendAndReceive` wait until its timeout: 30 s here, so "at once" can be
 * checked as "within 10 s", which no load on the machine makes fail and no such bug passes.
 */
const TIMEOUT_S = 30;
const AT_ONCE_S = 10;

/**
 * Seconds that `sendAndReceive` of one query takes. Its group tells apart queries made in the
 * same millisecond, which would otherwise share a message id.
 */
async function secondsToAnswer(grid: BaseGrid, group = ""): Promise<number> {
  const started = performance.now();
  const [reply] = await grid.sendAndReceive(
    [grid.createMessage(new RecordDict(), "query", 2n, group)],
    { timeout: TIMEOUT_S },
  );
  expect(reply?.hasError()).toBe(false);
  return (performance.now() - started) / 1000;
}

describe("BaseGrid.sendAndReceive: replies stored between a pull and the wait", () => {
  it("returns at once, far below its timeout", async () => {
    expect(await secondsToAnswer(new AnswerAfterPullGrid())).toBeLessThan(AT_ONCE_S);
  });

  it("returns at once for two calls at a time, whose pulls could take turns between the other's pull and wait", async () => {
    const grid = new AnswerAfterPullGrid();
    const seconds = await Promise.all([secondsToAnswer(grid, "a"), secondsToAnswer(grid, "b")]);
    expect(Math.max(...seconds)).toBeLessThan(AT_ONCE_S);
  });

  it("InMemoryGrid: two nodes that reply after 0 to 8 microtasks each, never a wait until the timeout", async () => {
    const after = (ticks: number) =>
      new ClientApp().query(async (msg) => {
        for (let i = 0; i < ticks; i++) await undefined;
        return new Message(new RecordDict(), { replyTo: msg });
      });
    for (let a = 0; a <= 8; a++) {
      for (let b = a; b <= 8; b++) {
        const grid = new InMemoryGrid();
        const nodes = [grid.addNode(after(a)), grid.addNode(after(b))];
        const started = performance.now();
        const replies = await grid.sendAndReceive(
          nodes.map((id) => grid.createMessage(new RecordDict(), "query", id)),
          { timeout: TIMEOUT_S },
        );
        expect(replies.map((r) => r.hasError())).toEqual([false, false]);
        expect(
          performance.now() - started,
          `nodes replying after ${a} and ${b} ticks`,
        ).toBeLessThan(AT_ONCE_S * 1000);
      }
    }
  });
});
