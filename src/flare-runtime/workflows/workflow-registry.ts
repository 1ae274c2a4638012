import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseOrRefuse } from "../../core/parse-or-refuse.ts";
import { pathInside } from "../../core/security/path-inside.ts";
import { createCrossSiteEval, crossSiteEvalArgs } from "./cross-site-eval.ts";
import { createCyclic, cyclicArgs } from "./cyclic.ts";
import { createScatterAndGather, scatterAndGatherArgs } from "./scatter-and-gather.ts";
import type { Workflow } from "./workflow.ts";

/** The built-in workflows by name: each one's arguments (checked) and how to make it. */
const WORKFLOWS: Record<string, { args: z.ZodType; create: (args: never) => Workflow }> = {
  ScatterAndGather: { args: scatterAndGatherArgs, create: createScatterAndGather },
  Cyclic: { args: cyclicArgs, create: createCyclic },
  CrossSiteEval: { args: crossSiteEvalArgs, create: createCrossSiteEval },
};

/** A built-in workflow by name, or the `workflow` a module of the job's folder exports. */
export async function createWorkflow(
  spec: { name: string; args?: Record<string, unknown> | undefined },
  jobDir: string,
): Promise<Workflow> {
  const builtIn = WORKFLOWS[spec.name];
  if (builtIn === undefined) {
    if (!spec.name.startsWith("./"))
      throw new FedbridgeError(
        Code.InvalidArgument,
        `unknown workflow '${spec.name}' (built in: ${Object.keys(WORKFLOWS).join(", ")}; or a module path such as ./my-workflow.ts)`,
      );
    const module = (await importFromJob(jobDir, spec.name)) as { workflow?: Workflow };
    if (module.workflow === undefined)
      throw new FedbridgeError(Code.InvalidArgument, `${spec.name} exports no workflow`);
    return module.workflow;
  }
  const args = parseOrRefuse(builtIn.args, spec.args ?? {}, `workflow ${spec.name}`, "args");
  return builtIn.create(args as never);
}

/** Imports a module of the job's folder; paths may not leave it. */
export async function importFromJob(jobDir: string, path: string): Promise<unknown> {
  const root = resolve(jobDir);
  const file = pathInside(root, path);
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    // Without "type": "module" the job's .ts files load as CommonJS, and fail obscurely.
    if ((await packageType(root)) !== "module")
      throw new FedbridgeError(
        Code.InvalidArgument,
        `cannot load ${path}: the job folder needs a package.json with "type": "module" (its .ts files are ES modules)`,
        { cause: error },
      );
    throw error;
  }
}

/** The `type` of the job folder's package.json, if it has a readable one. */
async function packageType(root: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { type?: string })
      .type;
  } catch {
    return undefined;
  }
}
