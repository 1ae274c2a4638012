import { createShareable, DataKind, type Executor } from "fedbridge/runtime";

/** Sends the model back as it came (no copy), weighted by the site's position. */
export const executor: Executor = {
  execute: (_task, data, context) =>
    createShareable(DataKind.WEIGHTS, data.records, {
      numExamples: context.jobSites.indexOf(context.site) + 1,
    }),
};
