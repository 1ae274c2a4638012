import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import type { WebNodePageConfig } from "../browser/web-node-page.ts";

/** Where the page loads its ClientApp's worker (web-node-page.ts's CLIENTAPP_WORKER_PATH). */
const CLIENTAPP_WORKER_PATH = "/clientapp-worker.js";

import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { readAppManifest } from "../flower-api/app/load-app.ts";
import { bundlePyproject } from "../flower-api/fab/flower-pyproject.ts";
import { bundleWebNode } from "./bundle-web-node.ts";

/** @tensorflow/tfjs-backend-wasm's binaries (the backend picks the one the browser can run). */
const WASM_FILES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];
/** Where the page's initTfjs looks for them (src/browser/tfjs-backend.ts's TFJS_WASM_PATH). */
const TFJS_WASM_PATH = "/tfjs-wasm/";

export interface WebNodeOptions {
  /** The app folder (its package.json's `fedbridge.clientapp` is bundled). */
  appDir: string;
  /** The SuperLink's Fleet API for browsers: a URL, or host:port meaning http://host:port. */
  superlink: string;
  /** The page's port; 0 picks a free one. Default: 8080. */
  port?: number;
  /** The interface to listen on. Default: 127.0.0.1. */
  host?: string;
  /** Seconds between a page's heartbeats (the SuperLink's patience is twice this). Default: 10. */
  heartbeatInterval?: number;
  /** The ClientApps' TensorFlow.js backend: auto (default), webgpu, webgl, wasm or cpu. */
  tfjsBackend?: string;
}

export interface WebNodeServer {
  /** The page's address; its origin is what the SuperLink's --web-origin must allow. */
  url: string;
  origin: string;
  close(): Promise<void>;
}

/**
 * `fedbridge web-node`: bundles an app's ClientApp for the browser and serves one page that,
 * opened in any number of tabs, makes each tab a SuperNode of the SuperLink. A tab's node
 * config comes from its query string: `/?partition-id=0&num-partitions=3`.
 */
export async function startWebNode(options: WebNodeOptions): Promise<WebNodeServer> {
  const manifest = await readAppManifest(options.appDir);
  const scripts = await bundleWebNode(manifest);
  const config: WebNodePageConfig = {
    superlink: superlinkUrl(options.superlink),
    // The fab id the SuperLink gives the app's runs (from its pyproject.toml, or generated).
    appId: (await bundlePyproject(manifest)).identity.fabId,
    appConfig: manifest.config,
    heartbeatInterval: options.heartbeatInterval ?? 10,
    tfjsBackend: options.tfjsBackend ?? "auto",
  };
  const wasmDir = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"));
  const template = await readFile(new URL("./page.html", import.meta.url), "utf8");
  // `<` escaped: the JSON sits inside a <script> element.
  const html = template.replace('"__CONFIG__"', JSON.stringify(config).replaceAll("<", "\\u003c"));
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://page").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
      });
      res.end(html);
    } else if (path === "/web-node.js") {
      res.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
      });
      res.end(scripts.page);
    } else if (path === CLIENTAPP_WORKER_PATH) {
      res.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "no-cache",
      });
      res.end(scripts.worker);
    } else if (
      WASM_FILES.includes(path.slice(TFJS_WASM_PATH.length)) &&
      path.startsWith(TFJS_WASM_PATH)
    ) {
      // TensorFlow.js's WebAssembly backend, for apps that train with it.
      void readFile(join(wasmDir, path.slice(TFJS_WASM_PATH.length))).then(
        (body) => res.writeHead(200, { "content-type": "application/wasm" }).end(body),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    } else if (path === "/favicon.ico") {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end(`no such page: ${path}`);
    }
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        new FedbridgeError(
          Code.Unavailable,
          `cannot listen on ${host}:${options.port ?? 8080}: ${error.message}`,
        ),
      ),
    );
    server.listen(options.port ?? 8080, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  const origin = `http://${shown}:${port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function superlinkUrl(address: string): string {
  const url = /^https?:\/\//.test(address) ? address : `http://${address}`;
  try {
    return new URL(url).origin;
  } catch {
    throw new FedbridgeError(
      Code.InvalidArgument,
      `--superlink ${address} is neither host:port nor an http(s) URL`,
    );
  }
}
