import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../../src/core/free-port.ts";
import { withMallocTuning } from "../../src/core/malloc-tuning.mjs";
import { type AdminSession, connectAdmin } from "../../src/flare-runtime/admin/admin-client.ts";
import { localProjectYml, provisionProject } from "../../src/flare-runtime/provision/index.ts";
import type { SuperLinkTls } from "../../src/flower-api/superlink/testing/superlink-tls.ts";

/** `fedbridge` processes started by a benchmark, killed together at the end. */
export class BenchProcesses {
  readonly #children: ChildProcess[] = [];
  #stopping = false;

  /** Starts `fedbridge ARGS...` and resolves with its pid and output once `ready` matches. */
  start(
    args: string[],
    ready: RegExp,
    nodeArgs: string[] = [],
  ): Promise<{ pid: number; out: string }> {
    return new Promise((resolve, reject) => {
      // Tuned as `fedbridge` tunes itself, so that it needs no relay (bin/relaunch-tuned.mjs).
      const child = spawn(
        process.execPath,
        [...nodeArgs, ...cpuProfArgs(), "bin/fedbridge.mjs", ...args],
        { env: withMallocTuning() },
      );
      this.#children.push(child);
      const log = logFile(args[0] ?? "fedbridge", child.pid);
      if (log) {
        child.stdout.pipe(log);
        child.stderr.pipe(log);
      }
      let out = "";
      let started = false;
      const onData = (chunk: Buffer) => {
        out += chunk;
        if (started || !ready.test(out)) return;
        started = true;
        resolve({ pid: child.pid as number, out });
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code, signal) => {
        const how = `fedbridge ${args[0]} (pid ${child.pid}) exited (${code ?? signal})`;
        reject(new Error(`${how}: ${out}`));
        // After it was ready, a benchmark would only see its peers time out: say why here.
        if (started && !this.#stopping)
          console.error(`${how} while the benchmark ran:\n${out.slice(-3000)}`);
      });
    });
  }

  /**
   * A SuperLink on free loopback ports; with `webOrigin`, it also serves the Fleet API to
   * browsers of that origin (`web` is then that port's URL).
   */
  async superlink(
    tls?: SuperLinkTls,
    webOrigin?: string,
  ): Promise<{ pid: number; fleet: string; control: string; web?: string }> {
    const security = tls
      ? [
          "--ssl-certfile",
          tls.certFile,
          "--ssl-keyfile",
          tls.keyFile,
          "--ssl-ca-certfile",
          tls.caFile,
        ]
      : ["--insecure"];
    const { pid, out } = await this.start(
      [
        "superlink",
        ...security,
        "--fleet-api-address",
        "127.0.0.1:0",
        "--control-api-address",
        "127.0.0.1:0",
        ...(webOrigin ? ["--web-address", "127.0.0.1:0", "--web-origin", webOrigin] : []),
      ],
      webOrigin ? /Fleet API for browsers on port \d+/ : /control API on port \d+/,
      ["--max-old-space-size=8192"],
    );
    const [, fleet, control] =
      out.match(/Fleet API on port (\d+), control API on port (\d+)/) ?? [];
    const web = out.match(/Fleet API for browsers on port (\d+)/)?.[1];
    // Over TLS nodes dial "localhost" (Node warns when a TLS server name is an IP address).
    const host = tls ? "localhost" : "127.0.0.1";
    return {
      pid,
      fleet: `${host}:${fleet}`,
      control: `${host}:${control}`,
      ...(web ? { web: `http://127.0.0.1:${web}` } : {}),
    };
  }

  /** `count` SuperNodes for partitions 0..count-1; resolves with their pids. */
  async supernodes(fleet: string, count: number, tls?: SuperLinkTls): Promise<number[]> {
    const security = tls ? ["--root-certificates", tls.caFile] : ["--insecure"];
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        this.start(
          [
            "supernode",
            ...security,
            "--superlink",
            fleet,
            "--node-config",
            `partition-id=${i} num-partitions=${count}`,
          ],
          /connected/,
        ),
      ),
    );
    return started.map((node) => node.pid);
  }

  /**
   * A provisioned runtime in `root`: a server and `siteCount` sites (site-1, ...) running, and
   * an admin session as the project admin.
   */
  async runtime(
    root: string,
    siteCount: number,
  ): Promise<{ kits: string; serverPid: number; sitePids: number[]; admin: AdminSession }> {
    const port = await freePort();
    const sites = Array.from({ length: siteCount }, (_, i) => `site-${i + 1}`);
    const projectAdmin = { name: "admin@org-a.com", org: "org-a", role: "project_admin" };
    const siteList = sites.map((name) => ({ name, org: "org-a" }));
    await writeFile(
      join(root, "project.yml"),
      localProjectYml("bench", port, siteList, [projectAdmin]),
    );
    await provisionProject(join(root, "project.yml"), join(root, "ws"));
    const kits = join(root, "ws", "bench");
    const server = await this.start(
      ["server", "--kit", join(kits, "server1")],
      /listening on port/,
    );
    const started = await Promise.all(
      sites.map((s) => this.start(["client", "--kit", join(kits, s)], /connected to server1/)),
    );
    const admin = await connectAdmin(join(kits, "admin@org-a.com"));
    return { kits, serverPid: server.pid, sitePids: started.map((s) => s.pid), admin };
  }

  /** Ends every child (stopChildren). */
  killAll(): void {
    this.#stopping = true;
    stopChildren(this.#children);
  }
}

/** How long a stopped child has to exit before it is SIGKILLed. */
const STOP_GRACE_MS = 10_000;

/**
 * Ends children as a user would (SIGTERM: servers stop, write their CPU profiles and remove
 * their work folders; SIGKILLed nodes had left their model-sized kept replies in /tmp, 77 GB
 * of them over a day of runs), and SIGKILLs any still there after STOP_GRACE_MS.
 */
export function stopChildren(children: readonly ChildProcess[]): void {
  const alive = children.filter((child) => child.exitCode === null && child.signalCode === null);
  if (alive.length === 0) return;
  const force = setTimeout(() => {
    for (const child of alive) if (child.exitCode === null) child.kill("SIGKILL");
  }, STOP_GRACE_MS);
  let left = alive.length;
  for (const child of alive) {
    child.once("exit", () => {
      if (--left === 0) clearTimeout(force);
    });
    child.kill("SIGTERM");
  }
}

/**
 * `BENCH_CPU_PROF=DIR`: the benchmark's child processes write V8 CPU profiles into DIR
 * (summarize with Chrome's DevTools or any .cpuprofile reader).
 */
/** `BENCH_LOG_DIR`: each child's output also goes to `<dir>/<command>-<pid>.log`. */
function logFile(command: string, pid: number | undefined): WriteStream | undefined {
  const dir = process.env.BENCH_LOG_DIR;
  return dir ? createWriteStream(join(dir, `${command}-${pid}.log`)) : undefined;
}

export function cpuProfArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}
