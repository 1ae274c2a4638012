// Module resolve hook (see register.mjs): `fedbridge` and `fedbridge/<sub>` map to the
// entry points in this package's `exports`, wherever the importing file lives.
const root = new URL("../", import.meta.url);
const entries = {
  fedbridge: "src/index.ts",
  "fedbridge/ml": "src/ml/index.ts",
  "fedbridge/tracking": "src/tracking/index.ts",
};

export async function resolve(specifier, context, nextResolve) {
  const entry = entries[specifier];
  if (entry !== undefined) return nextResolve(new URL(entry, root).href, context);
  return nextResolve(specifier, context);
}
