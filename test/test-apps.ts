import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A self-contained app for a test: a copy of examples/quickstart with the files of
 * `test/apps/<testApp>` (and `extra` files) over it, so the app can be bundled and run
 * anywhere its folder is unpacked.
 */
export async function quickstartWith(
  testApp: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fedbridge-${testApp}-`));
  await cp("examples/quickstart", dir, { recursive: true });
  await cp(join("test/apps", testApp), dir, { recursive: true });
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

/**
 * A copy of examples/mnist whose ClientApp is test/apps/counting-mnist's: mnist's own, saying
 * which round each site trains and evaluates.
 */
export async function countingMnist(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-counting-mnist-"));
  await cp("examples/mnist", dir, { recursive: true });
  await cp("test/apps/counting-mnist", dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  manifest.fedbridge.clientapp = "./counting-client.ts";
  await writeFile(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  return dir;
}
