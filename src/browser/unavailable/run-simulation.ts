// The browser build's flower-api/simulation/run-simulation.ts: simulation runs nodes in
// worker threads on one machine.
import type { SimulationOutcome } from "../../flower-api/simulation/run-simulation.ts";
import { notInBrowser } from "./not-in-browser.ts";

export type {
  SimulationOptions,
  SimulationOutcome,
} from "../../flower-api/simulation/run-simulation.ts";

export async function runSimulation(_options: unknown): Promise<SimulationOutcome> {
  throw notInBrowser("runSimulation", "simulation runs its nodes in Node worker threads");
}
