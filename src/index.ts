// The `fedbridge` package: what an app imports (`import { ClientApp, ... } from "fedbridge"`).
// Strategies are in `fedbridge/strategy`, differential privacy and SecAgg+ in `fedbridge/privacy`.

export { Code, codeName, FedbridgeError } from "./core/fedbridge-error.ts";
export type { NumericDtype, NumericTypedArray } from "./core/numeric/npy.ts";
export type { Rng } from "./core/numeric/random.ts";
export { createRng, deriveSeed } from "./core/numeric/random.ts";
export type { ClientAppOptions, HandlerOptions, Lifespan } from "./flower-api/app/client-app.ts";
export { ClientApp } from "./flower-api/app/client-app.ts";
export type { Context, UserConfig, UserConfigValue } from "./flower-api/app/context.ts";
export type { Grid, RunInfo } from "./flower-api/app/grid.ts";
export type { ClientAppCallable, Handler, Mod } from "./flower-api/app/mod.ts";
export { composeMods } from "./flower-api/app/mod.ts";
export type { ServerAppMain, ServerLifespan } from "./flower-api/app/server-app.ts";
export { ServerApp } from "./flower-api/app/server-app.ts";
// Flower's names (Array, Error) for apps, and names that do not hide JavaScript's globals.
export { ErrorCode, MessageError as Error, MessageError } from "./flower-api/message/error.ts";
export type {
  InstructionOptions,
  ReplyOptions,
  RestoreOptions,
} from "./flower-api/message/message.ts";
export { Message } from "./flower-api/message/message.ts";
export type { MessageCategory } from "./flower-api/message/message-type.ts";
export { MessageType } from "./flower-api/message/message-type.ts";
export type { Metadata } from "./flower-api/message/metadata.ts";
export { DEFAULT_TTL } from "./flower-api/message/metadata.ts";
export type { ArrayInit, TensorFactory, TensorLike } from "./flower-api/records/array.ts";
export { FlowerArray as Array, FlowerArray } from "./flower-api/records/array.ts";
export type { ShapedValues } from "./flower-api/records/array-record.ts";
export { ArrayRecord } from "./flower-api/records/array-record.ts";
export type { ConfigValue } from "./flower-api/records/config-record.ts";
export { ConfigRecord } from "./flower-api/records/config-record.ts";
export type { MetricValue } from "./flower-api/records/metric-record.ts";
export { MetricRecord } from "./flower-api/records/metric-record.ts";
export type { AnyRecord } from "./flower-api/records/record-dict.ts";
export { RecordDict } from "./flower-api/records/record-dict.ts";
export { decodeRecordDict, encodeRecordDict } from "./flower-api/records/serde.ts";
export type {
  SimulationOptions,
  SimulationOutcome,
} from "./flower-api/simulation/run-simulation.ts";
export { runSimulation } from "./flower-api/simulation/run-simulation.ts";
