import { setTimeout as sleep } from "node:timers/promises";
import type { JobRunner } from "../job-runner.ts";

/**
 * The minimal runtime job: each round the server sends a number to every site, each site
 * answers with the number times its position (1-based, sites sorted by name), and the server
 * adds the answers up. Config: `value` (default 1), `rounds` (default 1), `delayMs` per site
 * answer (default 0, to make a job last). Its site part also does one task, for tests of how
 * tasks travel: `invert` answers with the task's bytes, each inverted.
 */
export const runner: JobRunner = {
  async server(context) {
    const value = Number(context.config.value ?? 1);
    const rounds = Number(context.config.rounds ?? 1);
    const sums: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const replies = await Promise.all(
        context.sites.map((site) =>
          context.request(site, "add", { value, position: context.sites.indexOf(site) + 1 }),
        ),
      );
      const sum = replies.reduce<number>((total, reply) => total + Number(reply), 0);
      sums.push(sum);
      context.log(`round ${round}: sum ${sum}`);
      context.roundCompleted(round);
    }
    context.setResult({ sums, sites: [...context.sites] });
  },

  site: (context) => ({
    async request(topic, payload) {
      if (topic !== "add") throw new Error(`sum job: unknown topic ${topic}`);
      const { value, position } = payload as { value: number; position: number };
      const delayMs = Number(context.config.delayMs ?? 0);
      if (delayMs > 0) await sleep(delayMs, undefined, { signal: context.signal });
      return value * position;
    },
    async task(topic, data) {
      if (topic !== "invert") throw new Error(`sum job: unknown task ${topic}`);
      return [data.map((byte) => 255 - byte)];
    },
  }),
};
