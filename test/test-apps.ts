import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/**
 * A self-contained app for a test: a copy of examples/quickstart with the files of
 * `<apps>/<testApp>` (default test/apps; benchmarks use bench/apps) and `extra` files over it,
 * so the app can be bundled and run anywhere its folder is unpacked.
 */
export function quickstartWith(
  testApp: string,
  extra: Record<string, string> = {},
  apps = "test/apps",
): Promise<string> {
  return exampleWith("examples/quickstart", join(apps, testApp), extra);
}

/**
 * A copy of examples/mnist whose ClientApp is test/apps/counting-mnist's: mnist's own, saying
 * which round each site trains and evaluates.
 */
export async function countingMnist(): Promise<string> {
  const dir = await exampleWith("examples/mnist", "test/apps/counting-mnist");
  const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  manifest.fedbridge.clientapp = "./counting-client.ts";
  await writeFile(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  return dir;
}

/** A copy of `example` in a temporary folder with the files of `overlay` and `extra` over it. */
async function exampleWith(
  example: string,
  overlay: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fedbridge-${basename(overlay)}-`));
  await cp(example, dir, { recursive: true });
  await cp(overlay, dir, { recursive: true });
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}
