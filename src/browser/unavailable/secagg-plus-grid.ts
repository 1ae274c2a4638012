// The browser build's flower-api/secagg/secagg-plus-grid.ts (a ServerApp's side of SecAgg+).
import type { Grid } from "../../flower-api/app/grid.ts";
import type { SecAggPlusOptions } from "../../flower-api/secagg/secagg-plus-options.ts";
import { notInBrowser } from "./not-in-browser.ts";

export class SecAggPlusGrid {
  constructor(_grid: Grid, _options: SecAggPlusOptions) {
    throw notInBrowser("SecAgg+", "a ServerApp runs on the SuperLink, not in a page");
  }
}
