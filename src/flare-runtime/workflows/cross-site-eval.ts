import { z } from "zod";
import { ReturnCode, type TaskResult } from "../controller/task.ts";
import { metricValues } from "../shareable/records.ts";
import { DataKind, type Shareable } from "../shareable/shareable.ts";
import type { Workflow } from "./workflow.ts";

export const crossSiteEvalArgs = z.strictObject({
  /** The task that asks a site for its own best local model. */
  submitModelTask: z.string().min(1).default("submit_model"),
  /** The task that asks a site to evaluate a model on its data. */
  validateTask: z.string().min(1).default("validate"),
  /** Whether the global model (from the workflow before) is evaluated too. */
  includeServerModel: z.boolean().default(true),
  /** Seconds a site has for each task; 0 for no limit. */
  taskTimeout: z.number().min(0).default(0),
});

/**
 * Cross-site evaluation (FLARE's CrossSiteModelEval): every site submits its local model,
 * then every site evaluates every model (and the global one) on its own data. The result is
 * a matrix: `crossSiteEval[modelOwner][evaluatingSite]` = the metrics that site reported.
 * Models are read one at a time, so memory holds one model, not one per site.
 */
export function createCrossSiteEval(args: z.infer<typeof crossSiteEvalArgs>): Workflow {
  return {
    name: "CrossSiteEval",
    async run({ controller, state }) {
      const sites = [...controller.sites].sort();
      const submitted = await controller.broadcastAndWait({
        name: args.submitModelTask,
        data: {
          kind: DataKind.NONE,
          records: { $typeName: "flwr.proto.RecordDict", items: [] },
          meta: {},
        },
        timeout: args.taskTimeout,
      });
      const models: [string, () => Promise<Shareable>][] = submitted
        .filter((r) => r.code === ReturnCode.OK)
        .map((r) => [r.site, () => r.read()]);
      if (args.includeServerModel && state.model) {
        const global = state.model;
        models.push(["server", async () => global]);
      }
      const matrix: Record<string, Record<string, Record<string, number> | string>> = {};
      for (const [owner, read] of models) {
        const model = await read();
        const results = await controller.broadcastAndWait({
          name: args.validateTask,
          data: { kind: DataKind.WEIGHTS, records: model.records, meta: { modelOwner: owner } },
          timeout: args.taskTimeout,
        });
        matrix[owner] = Object.fromEntries(
          await Promise.all(results.map(async (r) => [r.site, await metricsOf(r)] as const)),
        );
        controller.log(
          `CrossSiteEval: ${owner}'s model evaluated by ${results.filter((r) => r.code === ReturnCode.OK).length} of ${sites.length} sites`,
        );
      }
      state.result.crossSiteEval = matrix;
    },
  };
}

async function metricsOf(result: TaskResult): Promise<Record<string, number> | string> {
  if (result.code !== ReturnCode.OK)
    return `${result.code}${result.message ? `: ${result.message}` : ""}`;
  return metricValues((await result.read()).records);
}
