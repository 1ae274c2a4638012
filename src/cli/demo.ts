import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { submitApp } from "../bridge/index.ts";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { freePort } from "../core/free-port.ts";
import { withMallocTuning } from "../core/malloc-tuning.mjs";
import { connectAdmin } from "../flare-runtime/admin/admin-client.ts";
import { downloadJob } from "../flare-runtime/admin/download-job.ts";
import { localProjectYml, provisionProject } from "../flare-runtime/provision/index.ts";
import { integer, positiveInt } from "./options.ts";

const bin = new URL("../../bin/fedbridge.mjs", import.meta.url).pathname;

/**
 * `npm run demo`: the whole product in one command. Provisions a project in a new temporary
 * folder (a server, N sites, an admin), starts their processes, submits examples/mnist through
 * the bridge as a runtime job, shows each round, and prints the final accuracy. It stops its
 * processes when done (also on Ctrl-C, or when something fails) and leaves its files, kits,
 * logs and results in that folder for a look afterwards, and says so.
 */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "provision a project in a temporary folder, start a server and sites, run an app through the bridge and show it; the folder stays",
    )
    .option("--app <dir>", "the Flower-style app to run", "examples/mnist")
    .option("--sites <n>", "how many sites", positiveInt, 3)
    .option("--seed <s>", "seed of the run", integer, 1)
    .action(async (flags: { app: string; sites: number; seed: number }) => {
      const root = await mkdtemp(join(tmpdir(), "fedbridge-demo-"));
      const children: ChildProcess[] = [];
      /** Stops every process the demo started (SIGKILL after 10 s) and waits until each exits. */
      const shutdown = () =>
        Promise.all(
          children
            .filter((child) => child.exitCode === null && child.signalCode === null)
            .map((child) => {
              const exited = new Promise((done) => child.once("exit", done));
              const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
              child.kill("SIGTERM");
              return exited.finally(() => clearTimeout(kill));
            }),
        );
      process.once("SIGINT", () => {
        console.log(`\nstopping the demo's processes; its files stay in ${root}`);
        void shutdown().then(() => process.exit(130));
      });
      try {
        console.log(
          `fedbridge demo: a project with a server, ${flags.sites} sites and an admin, in ${root}`,
        );
        const siteNames = Array.from({ length: flags.sites }, (_, i) => `site-${i + 1}`);
        const projectAdmin = { name: "admin@org-a.com", org: "org-a", role: "project_admin" };
        const sites = siteNames.map((name) => ({ name, org: "org-a" }));
        await writeFile(
          join(root, "project.yml"),
          localProjectYml("demo", await freePort(), sites, [projectAdmin]),
        );
        await provisionProject(join(root, "project.yml"), join(root, "workspace"));
        const kits = join(root, "workspace", "demo");
        await mkdir(join(root, "logs"), { recursive: true });
        const start = (name: string, args: string[], ready: RegExp) =>
          new Promise<void>((ok, fail) => {
            const child = spawn(process.execPath, [bin, ...args], {
              env: withMallocTuning(),
              stdio: ["ignore", "pipe", "pipe"],
            });
            children.push(child);
            const log = createWriteStream(join(root, "logs", `${name}.log`));
            let seen = "";
            const onData = (chunk: Buffer) => {
              log.write(chunk);
              seen += chunk.toString();
              if (ready.test(seen)) ok();
            };
            child.stdout?.on("data", onData);
            child.stderr?.on("data", onData);
            child.on("exit", (code) =>
              fail(
                new FedbridgeError(
                  Code.Internal,
                  `${name} exited (${code}); see ${join(root, "logs", `${name}.log`)}`,
                ),
              ),
            );
          });
        await start("server", ["server", "--kit", join(kits, "server1")], /listening on port/);
        await Promise.all(
          siteNames.map((site) =>
            start(site, ["client", "--kit", join(kits, site)], /connected to server1/),
          ),
        );
        console.log(
          `server and ${flags.sites} sites are up (mTLS on loopback); submitting ${flags.app} through the bridge`,
        );

        const admin = await connectAdmin(join(kits, "admin@org-a.com"));
        const job = await submitApp(admin, resolve(flags.app), { seed: flags.seed });
        const bar = process.stdout.isTTY
          ? new SingleBar({ format: " round {value}/{total} |{bar}| {status}", hideCursor: true })
          : undefined;
        const rounds = Number((await readAppRounds(flags.app)) ?? 0);
        bar?.start(rounds, 0, { status: "starting" });
        let last = job;
        let shownRound = 0;
        for await (const info of admin.client.waitJob({ id: job.id })) {
          last = info;
          if (info.round > shownRound) {
            shownRound = info.round;
            const metrics = info.roundMetricsJson
              ? (JSON.parse(info.roundMetricsJson) as Record<string, number>)
              : {};
            const line = `round ${info.round}/${rounds}  ${Object.entries(metrics)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join("  ")}`;
            if (bar) {
              bar.update(info.round, { status: info.status });
              bar.stop();
              console.log(line);
              if (info.round < rounds) bar.start(rounds, info.round, { status: info.status });
            } else console.log(line);
          }
        }
        bar?.stop();
        if (last.status !== "FINISHED:COMPLETED")
          throw new FedbridgeError(Code.Unknown, `the job ended ${last.status}: ${last.reason}`);

        const results = join(root, "results");
        await downloadJob(admin, job.id, results);
        const summary = JSON.parse(await readFile(join(results, "result.json"), "utf8")) as {
          rounds: { serverEvaluate?: { accuracy?: number } }[];
          finalArraysSha256: string;
        };
        const accuracy = summary.rounds.at(-1)?.serverEvaluate?.accuracy;
        console.log(`\njob ${job.id}: ${last.status}`);
        if (accuracy !== undefined)
          console.log(`final accuracy on the held-out digits: ${(accuracy * 100).toFixed(1)}%`);
        console.log(`final model sha256 ${summary.finalArraysSha256}`);
        console.log(`results (result.json, final-arrays.pb, job log): ${results}`);
        console.log(
          `TensorBoard files: ${join(kits, "server1", "jobs", job.id, "tb_events")} (tensorboard --logdir ...)`,
        );
        console.log(
          `process logs: ${join(root, "logs")}; server workspace (job store, audit log, jobs/${job.id}/): ${join(kits, "server1")}`,
        );
      } catch (error) {
        const failure =
          error instanceof ConnectError
            ? new FedbridgeError(error.code as number, error.rawMessage)
            : FedbridgeError.from(error);
        throw new FedbridgeError(
          failure.code,
          `${failure.message} (the demo's logs are in ${join(root, "logs")})`,
          { cause: error },
        );
      } finally {
        await shutdown();
      }
      console.log(
        `\nstopped the server and the ${flags.sites} sites; everything above stays in ${root} (delete it when done)`,
      );
    });
}

async function readAppRounds(appDir: string): Promise<number | undefined> {
  const pkg = JSON.parse(await readFile(join(appDir, "package.json"), "utf8")) as {
    fedbridge?: { config?: Record<string, unknown> };
  };
  return Number(pkg.fedbridge?.config?.["num-server-rounds"]);
}
