import { join } from "node:path";
import { writeWhole } from "../../core/direct-file.ts";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Controller } from "../controller/controller.ts";
import type { Executor, ExecutorContext } from "../executor/executor.ts";
import { createSiteTasks } from "../executor/site-task.ts";
import type { JobRunner, SiteJobContext } from "../job-process/job-runner.ts";
import { arraysSha256 } from "../shareable/records.ts";
import { encodeShareable } from "../shareable/shareable-codec.ts";
import { parseWorkflowJobConfig } from "./job-config.ts";
import type { WorkflowState } from "./workflow.ts";
import { createWorkflow, importFromJob } from "./workflow-registry.ts";

/**
 * The job runner `workflow`: a native runtime job, FLARE-style. The server part runs the
 * job's workflows in order with a Controller; each site's part routes tasks by name to the
 * job's executors, with the site's privacy filters (then the job's) on the way in and out.
 */
export const runner: JobRunner = {
  async server(job) {
    const config = parseWorkflowJobConfig(job.config);
    const controller = new Controller(job);
    const state: WorkflowState = { result: {} };
    for (const spec of config.workflows) {
      const workflow = await createWorkflow(spec, job.dir);
      job.log(`workflow ${workflow.name} starts`);
      await workflow.run({
        controller,
        job,
        state,
        importJobModule: async <T>(path: string) => (await importFromJob(job.dir, path)) as T,
      });
    }
    if (state.model) {
      await writeWhole(join(job.workspace, "final-model.fbs"), encodeShareable(state.model));
      state.result.finalArraysSha256 = arraysSha256(state.model.records);
    }
    job.setResult(state.result);
  },

  site(job) {
    const tasks = createSiteTasks(job);
    let executors: Promise<Map<string, Executor>> | undefined;
    const context: ExecutorContext = {
      site: job.site,
      jobId: job.jobId,
      jobSites: job.jobSites,
      config: job.config,
      workspace: job.workspace,
      log: job.log,
      signal: job.signal,
    };
    return {
      async task(topic, bytes, siteMeta) {
        executors ??= siteExecutors(job);
        const byTask = await executors;
        const executor = byTask.get(topic);
        if (executor === undefined)
          throw new FedbridgeError(
            Code.Unimplemented,
            `no executor for task '${topic}' at ${job.site} (tasks: ${[...byTask.keys()].join(", ")})`,
          );
        return tasks.run(topic, bytes, siteMeta, (data) => executor.execute(topic, data, context));
      },
    };
  },
};

/** A site's executors by task, loaded at the job's first task. */
async function siteExecutors(job: SiteJobContext): Promise<Map<string, Executor>> {
  const byTask = new Map<string, Executor>();
  for (const { tasks, path } of parseWorkflowJobConfig(job.config).executors) {
    const module = (await importFromJob(job.dir, path)) as { executor?: Executor };
    if (module.executor === undefined)
      throw new FedbridgeError(Code.InvalidArgument, `${path} exports no executor`);
    for (const task of tasks) byTask.set(task, module.executor);
  }
  return byTask;
}
