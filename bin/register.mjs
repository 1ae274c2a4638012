// Makes TypeScript importable at run time (tsx) and resolves `fedbridge` / `fedbridge/*`
// to this package's sources, so an app folder anywhere can `import ... from "fedbridge"`
// and share one module instance with the CLI that loads it. Used by the bin, by worker
// threads and by scripts; import it before any .ts module.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

registerTsx();
register("./resolve-fedbridge.mjs", import.meta.url);
