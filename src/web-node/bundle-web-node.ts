import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import type { AppManifest } from "../flower-api/app/load-app.ts";
import { BROWSER_ALIASES, browserSubstitutes } from "./browser-substitutes.ts";

const PAGE_ENTRY = fileURLToPath(new URL("../browser/web-node-page.ts", import.meta.url));

/**
 * The page's script: the app's ClientApp module and the browser SuperNode, bundled for the
 * browser by esbuild (one ES module, no Node module in it: a Node-only import fails the build
 * with the import's chain). The app imports `fedbridge` as usual; it resolves to this
 * checkout with the browser substitutes (browser-substitutes.ts).
 */
export async function bundleWebNode(manifest: AppManifest): Promise<string> {
  const clientapp = fileURLToPath(manifest.clientappUrl);
  const entry = [
    `import { app } from ${JSON.stringify(clientapp)};`,
    `import { startWebNodePage } from ${JSON.stringify(PAGE_ENTRY)};`,
    "startWebNodePage(app);",
  ].join("\n");
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
      sourcemap: "inline",
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
