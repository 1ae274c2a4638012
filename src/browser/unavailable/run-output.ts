// The browser build's flower-api/run-output.ts: result files are the ServerApp's host's.
import type { RunSummaryJson } from "../../flower-api/run-output.ts";
import { notInBrowser } from "./not-in-browser.ts";

export type { RunMode, RunSummaryJson } from "../../flower-api/run-output.ts";

const WHY = "run results are written where the ServerApp runs";

export function summarizeResult(..._args: unknown[]): RunSummaryJson {
  throw notInBrowser("summarizeResult", WHY);
}

export async function writeRunOutput(..._args: unknown[]): Promise<RunSummaryJson> {
  throw notInBrowser("writeRunOutput", WHY);
}
