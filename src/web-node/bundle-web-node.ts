import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { AppManifest } from "../flower-api/app/load-app.ts";
import { BROWSER_ALIASES, browserSubstitutes } from "./browser-substitutes.ts";

const PAGE_ENTRY = fileURLToPath(new URL("../browser/web-node-page.ts", import.meta.url));
const WORKER_ENTRY = fileURLToPath(new URL("../browser/clientapp-web-worker.ts", import.meta.url));

/** The page's two scripts: the node (page) and the app's ClientApp (its Web Worker). */
export interface WebNodeScripts {
  page: string;
  worker: string;
}

/**
 * The page's scripts, bundled for the browser by esbuild (ES modules, no Node module in them:
 * a Node-only import fails the build with the import's chain): the browser SuperNode for the
 * page, and the app's ClientApp module for the worker it trains in. The app imports
 * `fedbridge` as usual; it resolves to this checkout with the browser substitutes
 * (browser-substitutes.ts).
 */
export async function bundleWebNode(manifest: AppManifest): Promise<WebNodeScripts> {
  const clientapp = fileURLToPath(manifest.clientappUrl);
  const [page, worker] = await Promise.all([
    bundle(
      manifest,
      `import { startWebNodePage } from ${JSON.stringify(PAGE_ENTRY)};\nstartWebNodePage();`,
    ),
    bundle(
      manifest,
      [
        `import { app } from ${JSON.stringify(clientapp)};`,
        `import { startClientAppWebWorker } from ${JSON.stringify(WORKER_ENTRY)};`,
        "startClientAppWebWorker(app);",
      ].join("\n"),
    ),
  ]);
  return { page, worker };
}

async function bundle(manifest: AppManifest, entry: string): Promise<string> {
  try {
    const result = await build({
      stdin: { contents: entry, resolveDir: manifest.dir, loader: "ts", sourcefile: "web-node.ts" },
      bundle: true,
      write: false,
      platform: "browser",
      format: "esm",
      target: "es2022",
      alias: BROWSER_ALIASES,
      plugins: [browserSubstitutes()],
      logLevel: "silent",
    });
    const [output] = result.outputFiles;
    if (output === undefined) throw new Error("esbuild wrote nothing");
    return output.text;
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string } | null }[] })
      .errors;
    const detail = errors
      ? errors
          .slice(0, 5)
          .map((e) => `${e.location?.file ?? "?"}: ${e.text}`)
          .join("; ")
      : FedbridgeError.from(error).message;
    throw new FedbridgeError(
      Code.FailedPrecondition,
      `cannot bundle ${manifest.name}'s ClientApp for the browser: ${detail}`,
    );
  }
}
