import type { UserConfig } from "../flower-api/app/context.ts";
import { createWorkerRunner, type WorkerLike } from "./clientapp-worker-client.ts";
import { type WebNodeState, WebSuperNode } from "./web-supernode.ts";

/** What `fedbridge web-node` writes into the page (a JSON script element, id `web-node-config`). */
export interface WebNodePageConfig {
  superlink: string;
  appId: string;
  appConfig: UserConfig;
  heartbeatInterval: number;
  /** The ClientApp's TensorFlow.js backend: auto (default), webgpu, webgl, wasm or cpu. */
  tfjsBackend: string;
}

/** The few DOM members the page uses (the project type-checks without the DOM lib). */
interface PageElement {
  textContent: string | null;
  dataset: Record<string, string>;
}
interface PageGlobals {
  document: {
    getElementById(id: string): PageElement | null;
    body: PageElement;
  };
  location: { search: string };
  addEventListener(type: string, listener: () => void): void;
  fedbridgeNode?: WebSuperNode;
  Worker: new (url: string, options: { type: "module" }) => WorkerLike;
}

/** Where `fedbridge web-node` serves the ClientApp's worker script. */
export const CLIENTAPP_WORKER_PATH = "/clientapp-worker.js";

/**
 * Starts the page's node: the SuperLink and app id from the page's config (the app itself runs
 * in the worker at CLIENTAPP_WORKER_PATH), the node config from
 * the query string (`?partition-id=0&num-partitions=3`, numbers as numbers). Shows the
 * node's state in the page (and as `data-*` attributes of <body>, for scripts and tests).
 */
export function startWebNodePage(): WebSuperNode {
  const page = globalThis as unknown as PageGlobals;
  const configText = page.document.getElementById("web-node-config")?.textContent ?? "{}";
  const config = JSON.parse(configText) as WebNodePageConfig;
  const nodeConfig = nodeConfigOf(page.location.search);
  const show = (id: string, text: string) => {
    const element = page.document.getElementById(id);
    if (element) element.textContent = text;
  };
  show("superlink", config.superlink);
  show("node-config", JSON.stringify(nodeConfig));
  const onState = (state: WebNodeState) => {
    const body = page.document.body.dataset;
    body.status = state.status;
    body.replies = String(state.replies);
    body.round = String(state.round ?? "");
    body.nodeId = state.nodeId ?? "";
    show("status", state.status);
    show("node-id", state.nodeId ?? "–");
    show("run", state.runId ?? "–");
    show("round", state.round === undefined ? "–" : String(state.round));
    show("task", state.task ?? "–");
    show("replies", String(state.replies));
    show("metrics", state.lastMetrics ? formatMetrics(state.lastMetrics) : "–");
    show("problem", state.problem ?? "");
  };
  const node = new WebSuperNode({
    superlink: config.superlink,
    // The ClientApp trains in a worker: the page's node keeps heartbeating meanwhile.
    runApp: createWorkerRunner(
      new page.Worker(`${CLIENTAPP_WORKER_PATH}?tfjs-backend=${config.tfjsBackend}`, {
        type: "module",
      }),
      (notice) => {
        show("notice", notice);
        page.document.body.dataset.notice = notice;
      },
    ),
    appId: config.appId,
    appConfig: config.appConfig,
    nodeConfig,
    heartbeatInterval: config.heartbeatInterval,
    onState,
    log: (line) => console.log(`[fedbridge web-node] ${line}`),
  });
  page.fedbridgeNode = node;
  // A closing tab says goodbye if it can; if not, its heartbeats simply end.
  page.addEventListener("pagehide", () => node.leave());
  onState(node.state);
  void node.run();
  return node;
}

/** `?partition-id=0&num-partitions=3` as a node config: numbers and booleans parsed. */
export function nodeConfigOf(search: string): UserConfig {
  const config: UserConfig = {};
  for (const [key, text] of new URLSearchParams(search)) {
    const number = Number(text);
    config[key] =
      text === "true"
        ? true
        : text === "false"
          ? false
          : text !== "" && Number.isFinite(number)
            ? number
            : text;
  }
  return config;
}

function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(4)}`)
    .join("  ");
}
