// The Flower-style API: Flower 1.28's names in camelCase.

export type { NumericDtype, NumericTypedArray } from "../core/numeric/npy.ts";
export { NUMPY_STYPE } from "../core/numeric/npy.ts";
export type { PrivacyRandom } from "../core/numeric/privacy-random.ts";
export { createPrivacyRandom, createSecureRandom } from "../core/numeric/privacy-random.ts";
export type { Rng } from "../core/numeric/random.ts";
export { createRng, deriveSeed } from "../core/numeric/random.ts";
export {
  hasWasmSimd,
  weightedSumFloat32,
  weightedSumFloat32Js,
} from "../core/numeric/weighted-sum.ts";
export type { ConfigType } from "../core/typed-config.ts";
export type { ClientAppOptions, HandlerOptions, Lifespan } from "./app/client-app.ts";
export { ClientApp } from "./app/client-app.ts";
export type { Context, UserConfig, UserConfigValue } from "./app/context.ts";
export { createContext } from "./app/context.ts";
export { DispatchGrid } from "./app/dispatch-grid.ts";
export type { Grid, RunInfo } from "./app/grid.ts";
export { BaseGrid } from "./app/grid.ts";
export type { AppManifest } from "./app/load-app.ts";
export { importApp, readAppManifest } from "./app/load-app.ts";
export type { ClientAppCallable, Handler, Mod } from "./app/mod.ts";
export { composeMods } from "./app/mod.ts";
export { runClientApp } from "./app/run-client-app.ts";
export { checkRunConfig, parseConfigOverrides } from "./app/run-config.ts";
export type { NodeMetrics, RoundSummary, RunObserver } from "./app/run-observer.ts";
export { silentObserver } from "./app/run-observer.ts";
export type { ServerAppMain, ServerLifespan } from "./app/server-app.ts";
export { ServerApp } from "./app/server-app.ts";
// Flower's names (Array, Error) for apps, and names that do not hide JavaScript's globals.
export { ErrorCode, MessageError as Error, MessageError } from "./message/error.ts";
export type { InstructionOptions, ReplyOptions, RestoreOptions } from "./message/message.ts";
export { Message } from "./message/message.ts";
export {
  decodeMessage,
  encodeMessage,
  messageFromProto,
  messageToProto,
} from "./message/message-serde.ts";
export type { MessageCategory } from "./message/message-type.ts";
export { MessageType, parseMessageType } from "./message/message-type.ts";
export type { Metadata } from "./message/metadata.ts";
export { DEFAULT_TTL, SERVER_NODE_ID } from "./message/metadata.ts";
export type { DeflatedObject } from "./objects/deflate.ts";
export { ARRAY_CHUNK_SIZE, computeMessageId, deflateMessage } from "./objects/deflate.ts";
export { adaptiveClippingMod, fixedClippingMod } from "./privacy/centraldp-mods.ts";
export type { AdaptiveNoiseParams, FloatArray } from "./privacy/differential-privacy.ts";
export {
  addGaussianNoiseInplace,
  clipInputsInplace,
  computeAdaptiveNoiseParams,
  computeClipModelUpdate,
  computeStdv,
  getNorm,
  KEY_CLIPPING_NORM,
  KEY_NORM_BIT,
  localDpStdDev,
} from "./privacy/differential-privacy.ts";
export type { DifferentialPrivacyAdaptiveClippingOptions } from "./privacy/dp-adaptive-clipping.ts";
export {
  DifferentialPrivacyClientSideAdaptiveClipping,
  DifferentialPrivacyServerSideAdaptiveClipping,
} from "./privacy/dp-adaptive-clipping.ts";
export type { DifferentialPrivacyFixedClippingOptions } from "./privacy/dp-fixed-clipping.ts";
export {
  DifferentialPrivacyClientSideFixedClipping,
  DifferentialPrivacyServerSideFixedClipping,
} from "./privacy/dp-fixed-clipping.ts";
export type { ClippedReplies, PrivacyReportOptions, ScalarWriter } from "./privacy/dp-strategy.ts";
export { DifferentialPrivacyStrategy } from "./privacy/dp-strategy.ts";
export { LocalDpMod } from "./privacy/local-dp-mod.ts";
export type { PrivacySpent, RdpAccountant } from "./privacy/rdp-accountant.ts";
export {
  computeRdp,
  createRdpAccountant,
  DEFAULT_RDP_ORDERS,
  getPrivacySpent,
} from "./privacy/rdp-accountant.ts";
export type { ArrayInit, TensorFactory, TensorLike } from "./records/array.ts";
export { FlowerArray as Array, FlowerArray } from "./records/array.ts";
export type { ShapedValues } from "./records/array-record.ts";
export { ArrayRecord } from "./records/array-record.ts";
export type { ConfigValue } from "./records/config-record.ts";
export { ConfigRecord } from "./records/config-record.ts";
export type { MetricValue } from "./records/metric-record.ts";
export { MetricRecord } from "./records/metric-record.ts";
export type { AnyRecord } from "./records/record-dict.ts";
export { RecordDict } from "./records/record-dict.ts";
export {
  decodeArrayRecord,
  decodeConfigRecord,
  decodeMetricRecord,
  decodeRecordDict,
  encodeArrayRecord,
  encodeConfigRecord,
  encodeMetricRecord,
  encodeRecordDict,
} from "./records/serde.ts";
export type { ValueKind } from "./records/typed-record.ts";
export type { RunMode, RunSummaryJson } from "./run-output.ts";
export { summarizeResult, writeRunOutput } from "./run-output.ts";
export { SecAggPlusGrid } from "./secagg/secagg-plus-grid.ts";
export { secaggPlusMod } from "./secagg/secagg-plus-mod.ts";
export type { SecAggPlusOptions } from "./secagg/secagg-plus-options.ts";
export type { SimulationOptions, SimulationOutcome } from "./simulation/run-simulation.ts";
export { runSimulation } from "./simulation/run-simulation.ts";
export {
  aggregateArrayRecords,
  aggregateMetricRecords,
  orderByContent,
} from "./strategy/aggregate.ts";
export type { BulyanOptions, SelectionRule } from "./strategy/bulyan.ts";
export { Bulyan } from "./strategy/bulyan.ts";
export type { FedAdagradOptions } from "./strategy/fed-adagrad.ts";
export { FedAdagrad } from "./strategy/fed-adagrad.ts";
export type { FedAdamOptions } from "./strategy/fed-adam.ts";
export { FedAdam } from "./strategy/fed-adam.ts";
export type { FedAvgMOptions } from "./strategy/fed-avg-m.ts";
export { FedAvgM } from "./strategy/fed-avg-m.ts";
export type { FedMedianOptions } from "./strategy/fed-median.ts";
export { FedMedian } from "./strategy/fed-median.ts";
export type { FedOptOptions } from "./strategy/fed-opt.ts";
export { FedOpt } from "./strategy/fed-opt.ts";
export type { FedProxOptions } from "./strategy/fed-prox.ts";
export { FedProx } from "./strategy/fed-prox.ts";
export type { FedTrimmedAvgOptions } from "./strategy/fed-trimmed-avg.ts";
export { FedTrimmedAvg } from "./strategy/fed-trimmed-avg.ts";
export type { FedYogiOptions } from "./strategy/fed-yogi.ts";
export { FedYogi } from "./strategy/fed-yogi.ts";
export type { FedAvgOptions, MetricsAggregationFn } from "./strategy/fedavg.ts";
export { FedAvg } from "./strategy/fedavg.ts";
export type { KrumOptions } from "./strategy/krum.ts";
export { Krum } from "./strategy/krum.ts";
export type { MultiKrumOptions } from "./strategy/multi-krum.ts";
export { MultiKrum, selectMultikrum } from "./strategy/multi-krum.ts";
export type { QFedAvgOptions } from "./strategy/q-fed-avg.ts";
export { QFedAvg } from "./strategy/q-fed-avg.ts";
export { checkReplyConsistency } from "./strategy/reply-checks.ts";
export { Result } from "./strategy/result.ts";
export type { EvaluateFn, StartOptions, TrainAggregate } from "./strategy/strategy.ts";
export { Strategy } from "./strategy/strategy.ts";
