import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { Result } from "../strategy/result.ts";
import type { Context } from "./context.ts";
import type { Grid } from "./grid.ts";

/** The body of a ServerApp; returning the strategy's Result lets the runner save the model. */
export type ServerAppMain = (
  grid: Grid,
  context: Context,
) => Promise<Result | undefined> | Result | undefined;

/** Setup before and teardown after the run: code before the `yield`, then after it. */
export type ServerLifespan = (
  context: Context,
) => AsyncGenerator<unknown, void> | Generator<unknown, void>;

/**
 * The server side of an app, as Flower 1.28's `ServerApp`.
 *
 * @example
 * export const app = new ServerApp();
 * app.main(async (grid, context) => {
 *   const strategy = new FedAvg({ fractionEvaluate: 0.5 });
 *   return strategy.start({ grid, initialArrays, numRounds: 3 });
 * });
 */
export class ServerApp {
  #main: ServerAppMain | undefined;
  #lifespan: ServerLifespan | undefined;

  main(main: ServerAppMain): this {
    if (typeof main !== "function")
      throw new FedbridgeError(Code.InvalidArgument, "ServerApp main must be a function");
    this.#main = main;
    return this;
  }

  lifespan(lifespan: ServerLifespan): this {
    this.#lifespan = lifespan;
    return this;
  }

  /** Runs main inside the lifespan; returns what main returned. */
  async run(grid: Grid, context: Context): Promise<Result | undefined> {
    if (this.#main === undefined) {
      throw new FedbridgeError(
        Code.FailedPrecondition,
        "the ServerApp has no main function (call app.main(fn))",
      );
    }
    const lifespan = this.#lifespan?.(context);
    await lifespan?.next();
    try {
      return (await this.#main(grid, context)) ?? undefined;
    } finally {
      await lifespan?.next();
    }
  }
}
