import { create } from "@bufbuild/protobuf";
import { type Scalar, ScalarSchema } from "../../gen/flwr/proto/transport_pb.ts";
import type { UserConfig, UserConfigValue } from "./context.ts";

/** A run or node config as `map<string, flwr.proto.Scalar>`, with Flower's int/float rule. */
export function configToScalars(config: UserConfig): Record<string, Scalar> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, toScalar(value)]));
}

export function scalarsToConfig(scalars: Record<string, Scalar>): UserConfig {
  const config: UserConfig = {};
  for (const [key, scalar] of Object.entries(scalars)) {
    const { value } = scalar.scalar;
    if (value === undefined || value instanceof Uint8Array) continue; // bytes are not config values
    config[key] =
      typeof value === "bigint" && Number.isSafeInteger(Number(value)) ? Number(value) : value;
  }
  return config;
}

function toScalar(value: UserConfigValue): Scalar {
  if (typeof value === "boolean") return create(ScalarSchema, { scalar: { case: "bool", value } });
  if (typeof value === "string") return create(ScalarSchema, { scalar: { case: "string", value } });
  if (typeof value === "bigint") {
    return create(ScalarSchema, {
      scalar: value > 2n ** 63n - 1n ? { case: "uint64", value } : { case: "sint64", value },
    });
  }
  return create(ScalarSchema, {
    scalar: Number.isSafeInteger(value)
      ? { case: "sint64", value: BigInt(value) }
      : { case: "double", value },
  });
}
