import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ReturnCode, type Task } from "../controller/task.ts";
import type { JsonValue } from "../jobs/job-meta.ts";
import { arrayEntries, float32Array, float32Values } from "../shareable/records.ts";
import { DataKind, MetaKey, type Shareable } from "../shareable/shareable.ts";
import { decodeShareable, encodeShareable } from "../shareable/shareable-codec.ts";
import { InTimeAggregator } from "./in-time-aggregator.ts";
import type { ModelPersistor, Workflow, WorkflowContext } from "./workflow.ts";

export const scatterAndGatherArgs = z.strictObject({
  /** Rounds of training. */
  numRounds: z.int().min(1).default(5),
  /** OK results a round needs; it ends early once they are in. Default: every site. */
  minResponses: z.int().min(1).optional(),
  /** Seconds to wait for the other sites once `minResponses` results are in. */
  waitTimeAfterMinReceived: z.number().min(0).default(10),
  /** Seconds a site has for its result; 0 for no limit. */
  taskTimeout: z.number().min(0).default(0),
  /** The task sites train on. */
  trainTask: z.string().min(1).default("train"),
  /** What sites send back: whole models, or updates to add to the model sent. */
  resultKind: z.enum([DataKind.WEIGHTS, DataKind.WEIGHT_DIFF]).default(DataKind.WEIGHTS),
  /** Module of the job's folder exporting `persistor`, the first model. */
  persistor: z.string().default("./persistor.ts"),
});

/**
 * ScatterAndGather, FLARE's federated averaging workflow: each round the model goes to every
 * site, results are averaged (weighted by their `numExamples`) as they arrive, in site order
 * (see InTimeAggregator), and the average is the next model. After each round the model is
 * checkpointed, so a restarted server resumes at the next round with the same final model.
 */
/** What result.json says of each round. */
interface RoundRecord {
  round: number;
  sites: string[];
  metrics: Record<string, number>;
}

export function createScatterAndGather(args: z.infer<typeof scatterAndGatherArgs>): Workflow {
  return {
    name: "ScatterAndGather",
    async run({ controller, job, state, importJobModule }: WorkflowContext) {
      const sites = [...controller.sites].sort();
      const minResponses = Math.min(args.minResponses ?? sites.length, sites.length);
      let model: Shareable | undefined;
      let firstRound = 1;
      let rounds: RoundRecord[] = [];
      if (job.resume) {
        model = decodeShareable(await job.resume.read(), "checkpoint");
        firstRound = job.resume.round + 1;
        rounds = (model.meta.rounds ?? []) as unknown as RoundRecord[];
        controller.log(`ScatterAndGather: resuming at round ${firstRound} of ${args.numRounds}`);
      } else {
        model =
          state.model ??
          (await (
            await importJobModule<{ persistor?: ModelPersistor }>(args.persistor)
          ).persistor?.load(job.config)) ??
          fail(`${args.persistor} exports no persistor`);
      }
      for (let round = firstRound; round <= args.numRounds; round++) {
        controller.log(`ScatterAndGather: round ${round} of ${args.numRounds}`);
        const aggregator = new InTimeAggregator(sites);
        // With whole models back, the one sent is not needed during the round: drop it, so a
        // round holds the running sum and one result, not the model too.
        const sent: Shareable | undefined =
          args.resultKind === DataKind.WEIGHT_DIFF ? model : undefined;
        const pending = controller.broadcastAndWait(trainTask(args, model as Shareable, round), {
          targets: sites,
          minResponses,
          waitTimeAfterMinReceived: args.waitTimeAfterMinReceived,
          onResult: (result) => aggregator.arrived(result),
        });
        model = undefined;
        const results = await pending;
        const aggregate = await aggregator.finish(results);
        for (const { site, message } of aggregate?.rejected ?? [])
          controller.log(`round ${round}: result of ${site} rejected: ${message}`);
        const used = aggregate?.sites.length ?? 0;
        if (aggregate === undefined || used < minResponses) {
          const why = results
            .filter((r) => r.code !== ReturnCode.OK)
            .map((r) => `${r.site} ${r.code}${r.message ? ` (${r.message})` : ""}`)
            .join("; ");
          fail(
            `round ${round}: ${used} usable results, ${minResponses} needed (minResponses)${why ? `: ${why}` : ""}`,
          );
        }
        rounds.push({ round, sites: aggregate.sites, metrics: aggregate.metrics });
        model = {
          kind: DataKind.WEIGHTS,
          records:
            sent !== undefined ? addInPlace(sent, aggregate.records).records : aggregate.records,
          // The rounds so far travel with the checkpoint, so a resumed job reports them all.
          meta: { [MetaKey.ROUND]: round, rounds: rounds as unknown as JsonValue },
        };
        await job.saveCheckpoint(round, encodeShareable(model));
        job.roundCompleted(round, aggregate.metrics);
      }
      state.model = model ?? fail("no round ran");
      state.result.scatterAndGather = { numRounds: args.numRounds, rounds };
    },
  };
}

function trainTask(
  args: z.infer<typeof scatterAndGatherArgs>,
  model: Shareable,
  round: number,
): Task {
  return {
    name: args.trainTask,
    data: {
      kind: DataKind.WEIGHTS,
      records: model.records,
      meta: { [MetaKey.ROUND]: round, numRounds: args.numRounds },
    },
    timeout: args.taskTimeout,
  };
}

/** model += diff, array by array (the diff's layout must be the model's). */
function addInPlace(model: Shareable, diff: Shareable["records"]): Shareable {
  const diffs = arrayEntries(diff);
  arrayEntries(model.records).forEach((entry, i) => {
    const values = float32Values(entry.array);
    const update = diffs[i] ? float32Values(diffs[i].array) : undefined;
    if (update === undefined || update.length !== values.length)
      fail(`the update's array ${i} does not match the model's ${entry.name}`);
    for (let j = 0; j < values.length; j++)
      values[j] = (values[j] as number) + (update[j] as number);
    // float32Values copies when the bytes are not 4-aligned: then the sum goes back here.
    if (values.buffer !== entry.array.data.buffer)
      entry.array.data = float32Array(values, entry.array.shape).data;
  });
  return model;
}

function fail(message: string): never {
  throw new FedbridgeError(Code.FailedPrecondition, message);
}
