import type { Controller } from "../controller/controller.ts";
import type { ServerJobContext } from "../job-process/job-runner.ts";
import type { Shareable } from "../shareable/shareable.ts";

/** What the workflows of one job share as they run one after another. */
export interface WorkflowState {
  /** The current global model: set by a training workflow, read by the ones after it. */
  model?: Shareable;
  /** Merged into the job's result.json when the last workflow ends. */
  result: Record<string, unknown>;
}

export interface WorkflowContext {
  controller: Controller;
  job: ServerJobContext;
  state: WorkflowState;
  /** Imports a module of the job's folder (a persistor, say) by its path in the folder. */
  importJobModule<T>(path: string): Promise<T>;
}

/**
 * A server-side workflow: drives the job's sites through the controller. A job's config lists
 * workflows; they run in order (say, ScatterAndGather then CrossSiteEval).
 */
export interface Workflow {
  readonly name: string;
  run(context: WorkflowContext): Promise<void>;
}

/**
 * Where a training workflow gets its first model: a module of the job's folder that exports
 * `persistor`. The workflow saves each round's model itself (checkpoints, final model).
 */
export interface ModelPersistor {
  load(config: Readonly<Record<string, unknown>>): Shareable | Promise<Shareable>;
}
