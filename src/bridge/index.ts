// The bridge: Flower-style apps as runtime jobs. The only layer that knows both sides.
export { runner as flowerRunner } from "./flower-runner.ts";
export { RuntimeGrid } from "./runtime-grid.ts";
export type { SiteNode } from "./site-nodes.ts";
export { jobRunId, siteNodeId, siteNodes } from "./site-nodes.ts";
export { isAppFolder, submitApp } from "./submit-app.ts";

/** The runner registry entry the server and site parents get from the CLI. */
export const BRIDGE_RUNNERS = { flower: new URL("./flower-runner.ts", import.meta.url).href };
