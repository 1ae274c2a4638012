// The `fedbridge` package: what an app imports (`import { ClientApp, ... } from "fedbridge"`).

export { Code, codeName, FedbridgeError } from "./core/fedbridge-error.ts";
export * from "./flower-api/index.ts";
