// fedbridge/runtime: the runtime's job model, FLARE-style: a controller and workflows on the
// server, executors and privacy filters at the sites, tasks carrying flwr.proto records.

// Arrays hold NPY bytes with Flower's stype, so records pass between the two worlds unchanged.
export { NUMPY_STYPE } from "../core/numeric/npy.ts";
// Seeded randomness for executors and workflows (the same generator the Flower-style API uses).
export type { Rng } from "../core/numeric/random.ts";
export { createRng, deriveSeed } from "../core/numeric/random.ts";
export type {
  BroadcastOptions,
  RelayOptions,
  SendOptions,
} from "./controller/controller.ts";
export { Controller } from "./controller/controller.ts";
export type { Task, TaskResult } from "./controller/task.ts";
export { ReturnCode } from "./controller/task.ts";
export type { Executor, ExecutorContext } from "./executor/executor.ts";
export type { ApplyFiltersOptions } from "./filters/apply-filters.ts";
export { applyFilters } from "./filters/apply-filters.ts";
export type { Filter, FilterContext, FilterDirection } from "./filters/filter.ts";
export type { FilterChains, JobFilters } from "./filters/filter-chain.ts";
export { checkPrivacyPolicy, siteFilterChains } from "./filters/filter-chain.ts";
export { createFilter, FILTER_NAMES } from "./filters/filter-registry.ts";
export type {
  JobInfo,
  JobRunner,
  ServerJobContext,
  SiteJobContext,
  SitePart,
  SiteReply,
} from "./job-process/job-runner.ts";
export type { ArrayEntry } from "./shareable/records.ts";
export {
  arrayEntries,
  arrayRecord,
  arraysSha256,
  float32Array,
  float32Values,
  metricValues,
  recordDict,
  removeArrays,
  zerosFloat32,
} from "./shareable/records.ts";
export type { Shareable } from "./shareable/shareable.ts";
export { createShareable, DataKind, MetaKey } from "./shareable/shareable.ts";
export { decodeShareable, encodeShareable, joinPieces } from "./shareable/shareable-codec.ts";
export type { FileArray } from "./shareable/shareable-file.ts";
export { ShareableFile } from "./shareable/shareable-file.ts";
export type { Aggregate } from "./workflows/in-time-aggregator.ts";
export { InTimeAggregator } from "./workflows/in-time-aggregator.ts";
export type { WorkflowJobConfig } from "./workflows/job-config.ts";
export { parseWorkflowJobConfig } from "./workflows/job-config.ts";
export type {
  ModelPersistor,
  Workflow,
  WorkflowContext,
  WorkflowState,
} from "./workflows/workflow.ts";
