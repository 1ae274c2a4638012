/**
 * The benchmark runner: `npm run bench -- NAME` runs the exported `run()` of `bench/NAME.ts`;
 * `npm run bench` lists the benchmarks.
 */
import { readdir } from "node:fs/promises";

/** What each `bench/NAME.ts` exports. */
export interface Benchmark {
  /** One line saying what is measured. */
  readonly description: string;
  run(): void | Promise<void>;
}

const dir = new URL("./", import.meta.url);
const names = (await readdir(dir))
  .filter((file) => file.endsWith(".ts") && file !== "main.ts" && !file.endsWith(".test.ts"))
  .map((file) => file.slice(0, -".ts".length))
  .sort();

const load = async (name: string): Promise<Benchmark> =>
  (await import(new URL(`${name}.ts`, dir).href)) as Benchmark;

const name = process.argv[2];
if (name === undefined) {
  console.log("usage: npm run bench -- NAME\n\nbenchmarks:");
  for (const n of names) console.log(`  ${n.padEnd(16)} ${(await load(n)).description}`);
} else if (!names.includes(name)) {
  console.error(`bench: no benchmark named "${name}"; there are: ${names.join(", ")}`);
  process.exit(2);
} else {
  await (await load(name)).run();
}
