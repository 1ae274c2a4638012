import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";

const src = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * The browser build's module swaps: each file that needs Node is replaced by a browser file
 * with the same exports. sha256 is the same function in plain JS; the rest throw a clear
 * Unimplemented error when used (browser/unavailable/), so an app that imports them still
 * bundles, and one that uses them fails with the reason.
 */
export const BROWSER_SUBSTITUTES: Readonly<Record<string, string>> = {
  [src("core/security/sha256.ts")]: src("core/security/sha256-js.ts"),
  [src("core/numeric/privacy-random.ts")]: src("browser/unavailable/privacy-random.ts"),
  [src("tracking/summary-writer.ts")]: src("browser/unavailable/summary-writer.ts"),
  [src("flower-api/secagg/secagg-plus-mod.ts")]: src("browser/unavailable/secagg-plus-mod.ts"),
  [src("flower-api/secagg/secagg-plus-grid.ts")]: src("browser/unavailable/secagg-plus-grid.ts"),
  [src("flower-api/app/load-app.ts")]: src("browser/unavailable/load-app.ts"),
  [src("flower-api/run-output.ts")]: src("browser/unavailable/run-output.ts"),
  [src("flower-api/simulation/run-simulation.ts")]: src("browser/unavailable/run-simulation.ts"),
  [src("ml/tfjs-backend.ts")]: src("browser/tfjs-backend.ts"),
};

/**
 * The package's entry points an app imports (`fedbridge`, `fedbridge/strategy`, ...), as this
 * checkout's files: package.json's `exports`, the one list (the resolve hook reads it too).
 */
export const BROWSER_ALIASES: Readonly<Record<string, string>> = packageAliases();

function packageAliases(): Record<string, string> {
  const root = new URL("../../", import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
    name: string;
    exports: Record<string, string>;
  };
  const aliases: Record<string, string> = {};
  for (const [key, target] of Object.entries(pkg.exports)) {
    aliases[key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`] = fileURLToPath(
      new URL(target, root),
    );
  }
  return aliases;
}

/** An esbuild plugin that applies BROWSER_SUBSTITUTES to every relative import. */
export function browserSubstitutes(): Plugin {
  return {
    name: "fedbridge-browser-substitutes",
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData === "substitutes") return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: "substitutes",
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const substitute = BROWSER_SUBSTITUTES[resolved.path];
        return substitute === undefined ? resolved : { ...resolved, path: substitute };
      });
    },
  };
}
