import { setTimeout as sleep } from "node:timers/promises";
import {
  arrayEntries,
  arrayRecord,
  createShareable,
  DataKind,
  type Executor,
  float32Array,
  float32Values,
  recordDict,
} from "fedbridge/runtime";

/**
 * A test executor whose "training" is exact arithmetic: each value moves by 0.01 × the
 * site's position × the round, so results depend on site and round only, and the final model
 * on nothing else. Config: `delayMs` per task, `throwAt` (a site whose training throws),
 * `secret` (also return an array named "secret"), and, as "site:round", `stallAt` (that task
 * waits until the job stops, so a test can kill its process mid-task however late it looks)
 * and `freezeAt` (the job process stops itself with SIGSTOP there, until a test sends SIGCONT).
 */
export const executor: Executor = {
  async execute(task, data, context) {
    const round = Number(data.meta.round ?? 0);
    const position = context.jobSites.indexOf(context.site) + 1;
    context.log(`${context.site} ${task} round ${round} starts`);
    const here = `${context.site}:${round}`;
    if (context.config.stallAt === here)
      await sleep(2 ** 31 - 1, undefined, { signal: context.signal });
    if (context.config.freezeAt === here) process.kill(process.pid, "SIGSTOP");
    const delayMs = Number(context.config.delayMs ?? 0);
    if (delayMs > 0) await sleep(delayMs);
    if (context.config.throwAt === context.site) throw new Error(`${context.site} has no data`);
    const arrays: [string, ReturnType<typeof float32Array>][] = arrayEntries(data.records).map(
      ({ name, array }) => {
        const values = Float32Array.from(float32Values(array), (v) => v + 0.01 * position * round);
        return [name, float32Array(values, array.shape)];
      },
    );
    if (context.config.secret) arrays.push(["secret", float32Array(Float32Array.of(42), [1])]);
    context.log(
      `${context.site} ${task} round ${round} returns ${arrays.map(([n]) => n).join(",")}`,
    );
    return createShareable(
      DataKind.WEIGHTS,
      recordDict({
        arrays: { model: arrayRecord(arrays) },
        metrics: { metrics: { loss: 1 / (round + position) } },
      }),
      { numExamples: 10 * position },
    );
  },
};
