import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { Code, codeName, FedbridgeError } from "../core/fedbridge-error.ts";
import { connectAdmin } from "../flare-runtime/admin/admin-client.ts";
import { createDashboardApi, type DashboardApi } from "./dashboard-api.ts";

export interface DashboardOptions {
  /** An admin's startup kit: the dashboard calls the server as this admin. */
  kitDir: string;
  /** The HTTP port; 0 picks a free one. Default 8090. */
  port?: number;
  /**
   * The interface to listen on. Default 127.0.0.1: whoever reaches the page acts with the kit's
   * rights, so expose it beyond the machine only behind something that authenticates.
   */
  host?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page's address, e.g. `http://127.0.0.1:8090/`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULTS = { port: 8090, host: "127.0.0.1" } as const;

/** The page's files, by URL path: [file, content type]. */
const PAGE_FILES: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/dashboard.js": ["dashboard.js", "text/javascript; charset=utf-8"],
  "/dashboard.css": ["dashboard.css", "text/css; charset=utf-8"],
};

/** uPlot's browser build, served from node_modules (the page loads nothing from elsewhere). */
const VENDOR_FILES: Record<string, [string, string]> = {
  "/vendor/uPlot.iife.min.js": ["uPlot.iife.min.js", "text/javascript; charset=utf-8"],
  "/vendor/uPlot.min.css": ["uPlot.min.css", "text/css; charset=utf-8"],
};

/**
 * Starts the live dashboard: one static page (sites, jobs, and a job's per-round metric plots,
 * polled every second) and the JSON API it reads (`/api/sites`, `/api/jobs`,
 * `/api/jobs/:id/metrics`), backed by the server's admin API as the kit's admin.
 *
 * A kit that is not an admin's fails here; a server that cannot be reached does not: the API
 * answers 503 with the reason, and the page says so and keeps retrying.
 *
 * @example
 * const dashboard = await startDashboard({ kitDir: "workspace/demo/admin@org-a.com", port: 0 });
 * console.log(dashboard.url);
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { client, config } = await connectAdmin(options.kitDir);
  const api = createDashboardApi(client);
  const files = await loadFiles();
  const info = {
    project: config.project,
    admin: config.name,
    server: `${config.server.host}:${config.server.port}`,
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error) => sendError(res, FedbridgeError.from(error)));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, port)) {
      return sendError(res, new FedbridgeError(Code.PermissionDenied, "unexpected Host header"));
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    const file = files.get(path);
    if (file) {
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-cache" });
      res.end(file.body);
      return;
    }
    const body = await route(api, info, path);
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  }

  const host = options.host ?? DEFAULTS.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new FedbridgeError(
          error.code === "EADDRINUSE" ? Code.AlreadyExists : Code.Unavailable,
          `cannot listen on ${host}:${options.port ?? DEFAULTS.port}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port ?? DEFAULTS.port, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The JSON API; an unknown path is NotFound. */
async function route(api: DashboardApi, info: object, path: string): Promise<unknown> {
  if (path === "/api/info") return info;
  if (path === "/api/sites") return { sites: await api.sites() };
  if (path === "/api/jobs") return { jobs: await api.jobs() };
  const metrics = /^\/api\/jobs\/([^/]+)\/metrics$/.exec(path);
  if (metrics?.[1]) {
    return { scalars: await api.metrics(decodeURIComponent(metrics[1])) };
  }
  throw new FedbridgeError(Code.NotFound, `no such page: ${path}`);
}

/**
 * Refuses a request whose Host header names another machine, so a web page elsewhere cannot
 * reach the dashboard by DNS rebinding. Loopback names and IP addresses pass.
 */
function hostAllowed(header: string | undefined, port: number): boolean {
  if (header === undefined) return true;
  const name = header.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const portOk = !/:\d+$/.test(header) || header.endsWith(`:${port}`);
  return portOk && (name === "localhost" || /^[\d.]+$/.test(name) || name.includes(":"));
}

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

function sendError(res: ServerResponse, error: FedbridgeError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(HTTP_STATUS[error.code] ?? 500, {
    "content-type": "application/json",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify({ error: error.message, code: codeName(error.code) }));
}

/** The page and uPlot, read once at start. */
async function loadFiles(): Promise<Map<string, { body: Buffer; type: string }>> {
  const pageDir = new URL("./page/", import.meta.url);
  const uplotDir = dirname(createRequire(import.meta.url).resolve("uplot"));
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [path, [name, type]] of Object.entries(PAGE_FILES))
    files.set(path, { body: await readFile(new URL(name, pageDir)), type });
  for (const [path, [name, type]] of Object.entries(VENDOR_FILES))
    files.set(path, { body: await readFile(join(uplotDir, name)), type });
  return files;
}
