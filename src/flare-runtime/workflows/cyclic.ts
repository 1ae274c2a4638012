import { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { ReturnCode } from "../controller/task.ts";
import { DataKind, MetaKey, type Shareable } from "../shareable/shareable.ts";
import { decodeShareable, encodeShareable } from "../shareable/shareable-codec.ts";
import type { ModelPersistor, Workflow } from "./workflow.ts";

export const cyclicArgs = z.strictObject({
  /** Times the model goes round every site. */
  numRounds: z.int().min(1).default(3),
  /** The task each site trains on. */
  trainTask: z.string().min(1).default("train"),
  /** Seconds a site has for its turn; 0 for no limit. */
  taskTimeout: z.number().min(0).default(0),
  /** Module of the job's folder exporting `persistor`, the first model. */
  persistor: z.string().default("./persistor.ts"),
});

/**
 * Cyclic weight transfer (FLARE's CyclicController): each round the model visits the sites
 * one after another in name order, each training it further (the controller's relay). A site
 * that fails its turn is skipped; a round where every site failed fails the job. Checkpointed
 * after each round, like ScatterAndGather.
 */
export function createCyclic(args: z.infer<typeof cyclicArgs>): Workflow {
  return {
    name: "Cyclic",
    async run({ controller, job, state, importJobModule }) {
      const sites = [...controller.sites].sort();
      let model: Shareable;
      let firstRound = 1;
      if (job.resume) {
        model = decodeShareable(await job.resume.read(), "checkpoint");
        firstRound = job.resume.round + 1;
      } else {
        const module = await importJobModule<{ persistor?: ModelPersistor }>(args.persistor);
        if (module.persistor === undefined)
          throw new FedbridgeError(
            Code.FailedPrecondition,
            `${args.persistor} exports no persistor`,
          );
        model = state.model ?? (await module.persistor.load(job.config));
      }
      for (let round = firstRound; round <= args.numRounds; round++) {
        controller.log(`Cyclic: round ${round} of ${args.numRounds}`);
        const { data, results } = await controller.relay(
          {
            name: args.trainTask,
            data: {
              kind: DataKind.WEIGHTS,
              records: model.records,
              meta: { [MetaKey.ROUND]: round },
            },
            timeout: args.taskTimeout,
          },
          { targets: sites },
        );
        if (!results.some((r) => r.code === ReturnCode.OK))
          throw new FedbridgeError(
            Code.FailedPrecondition,
            `round ${round}: no site completed its turn`,
          );
        model = { kind: DataKind.WEIGHTS, records: data.records, meta: { [MetaKey.ROUND]: round } };
        await job.saveCheckpoint(round, encodeShareable(model));
        job.roundCompleted(round, {
          sites: results.filter((r) => r.code === ReturnCode.OK).length,
        });
      }
      state.model = model;
      state.result.cyclic = { numRounds: args.numRounds, order: sites };
    },
  };
}
