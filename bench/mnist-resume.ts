/**
 * A check too slow for the test suite (about 2 minutes on 2 cores): examples/mnist (a CNN on
 * 10,000 digits) as a bridged job on 3 sites, its server SIGKILLed during round 2's training
 * and started again. It must end FINISHED:COMPLETED with the simulation's finalArraysSha256,
 * every site training and evaluating each round once (counted from the sites' logs). Prints
 * the times of the simulation and of the killed job; throws if anything differs.
 * test/resume.test.ts checks the same on the quickstart's model in seconds.
 */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAll } from "../test/processes.ts";
import { runFedbridge } from "../test/run-fedbridge.ts";
import { startTestRuntime } from "../test/runtime-harness.ts";

export const description =
  "examples/mnist bridged on 3 sites, server SIGKILLed in round 2: same hash as the simulation, no round trained twice";

const CONFIG = "num-server-rounds=3 local-epochs=1";

/** mnist's ClientApp, saying which round each site trains and evaluates. */
const COUNTING_CLIENT = `import { ClientApp } from "fedbridge";
import { app as mnist } from "./client.ts";

const handle = (phase) => async (msg, context) => {
  const round = msg.content.configRecords.get("config")?.get("server-round");
  console.log(\`partition \${context.nodeConfig["partition-id"]} \${phase} round \${round}\`);
  return mnist.call(msg, context);
};

export const app = new ClientApp().train(handle("trains")).evaluate(handle("evaluates"));
`;

export async function run(): Promise<void> {
  const app = await mkdtemp(join(tmpdir(), "fedbridge-mnist-resume-"));
  await cp("examples/mnist", app, { recursive: true });
  await writeFile(join(app, "counting-client.ts"), COUNTING_CLIENT);
  const manifest = JSON.parse(await readFile(join(app, "package.json"), "utf8"));
  manifest.fedbridge.clientapp = "./counting-client.ts";
  await writeFile(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  try {
    let started = performance.now();
    const sim = await runFedbridge(
      ["run", app, "--sim", "--nodes", "3", "--seed", "7", "--run-config", CONFIG, "--json"],
      600_000,
    );
    if (sim.code !== 0) throw new Error(`the simulation failed: ${sim.stderr}`);
    const simSeconds = (performance.now() - started) / 1000;
    const reference = (sim.stdout.match(/"finalArraysSha256":"([0-9a-f]{64})"/) ?? [])[1];

    const runtime = await startTestRuntime(3);
    started = performance.now();
    const submitted = await runtime.admin(["submit", app, "--seed", "7", "--run-config", CONFIG]);
    const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
    const site = runtime.sites.get("site-1");
    await site?.waitFor(new RegExp(`trains round 2[^\\n]*job=${jobId}`), 600_000);
    runtime.server.child.kill("SIGKILL");
    await runtime.server.exited;
    await runtime.restartServer();
    await runtime.admin(["wait", jobId, "--timeout", "600"]);
    const jobSeconds = (performance.now() - started) / 1000;
    const status = JSON.parse((await runtime.admin(["status", jobId, "--json"])).stdout);
    const out = await mkdtemp(join(tmpdir(), "fedbridge-mnist-resume-out-"));
    await runtime.admin(["download", jobId, "-o", out]);
    const result = JSON.parse(await readFile(join(out, "result.json"), "utf8"));
    const counts = (phase: string) =>
      [...runtime.sites.values()].map((s) =>
        [1, 2, 3].map(
          (round) =>
            [...s.output().matchAll(new RegExp(`${phase} round ${round}[^\\n]*job=${jobId}`, "g"))]
              .length,
        ),
      );
    const trains = counts("trains");
    const evaluates = counts("evaluates");
    console.log(
      `simulation: ${simSeconds.toFixed(1)} s; bridged job with its server killed in round 2: ${jobSeconds.toFixed(1)} s, ${status.status}`,
    );
    console.log(`final hash: simulation ${reference}, resumed job ${result.finalArraysSha256}`);
    console.log(
      `rounds trained per site: ${JSON.stringify(trains)}; evaluated: ${JSON.stringify(evaluates)}`,
    );
    const once = (c: number[][]) => c.every((site) => site.every((n) => n === 1));
    if (status.status !== "FINISHED:COMPLETED")
      throw new Error(`job ${status.status}: ${status.reason}`);
    if (result.finalArraysSha256 !== reference) throw new Error("the resumed job's model differs");
    if (!once(trains) || !once(evaluates))
      throw new Error("a site handled a round twice or not at all");
    console.log(
      JSON.stringify({
        bench: "mnist-resume",
        simSeconds,
        jobSeconds,
        sameHash: true,
        onceEach: true,
      }),
    );
  } finally {
    killAll();
  }
}
