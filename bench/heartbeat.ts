/**
 * How fast the server sees a site go: a site in a process of its own (the cell tests'
 * site-process.ts) is SIGKILLed (its socket closes) or SIGSTOPped (its socket stays open and
 * only its silence tells), `BENCH_REPEATS` times each (default 10), with heartbeats every
 * `BENCH_HEARTBEAT_MS` (default 500). The figure is the time from the signal to the server's
 * "offline" event. The heartbeat's own bound (offline within 1.75 intervals of the last frame)
 * is checked exactly on fake timers by heartbeat.test.ts; here it meets a real event loop, so
 * run it on an idle machine.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createCellServer } from "../src/flare-runtime/cell/cell-server.ts";
import { cellRoutes } from "../src/flare-runtime/cell/cell-service.ts";
import { createMtlsServer } from "../src/flare-runtime/cell/mtls-server.ts";
import type { SiteEvent } from "../src/flare-runtime/cell/site-registry.ts";
import { provisionTestProject } from "../src/flare-runtime/cell/testing/test-project.ts";
import { median } from "../src/flower-api/strategy/float-arrays.ts";

export const description =
  "runtime cells: time until the server sees a SIGKILLed or SIGSTOPped site offline";

export async function run(): Promise<void> {
  const repeats = Number(process.env.BENCH_REPEATS ?? 10);
  const heartbeatMs = Number(process.env.BENCH_HEARTBEAT_MS ?? 500);
  const project = await provisionTestProject(["site-1"]);
  const kit = project.server;
  const cells = createCellServer({
    name: kit.config.name,
    participants: kit.config.participants,
    heartbeatIntervalMs: heartbeatMs,
  });
  const server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    streamRoutes: cellRoutes(cells),
  });
  const port = await server.listen(0, "127.0.0.1");
  const becomes = (type: SiteEvent["type"]) =>
    new Promise<SiteEvent>((resolve) => {
      const stop = cells.subscribe((event) => {
        if (event.site.name !== "site-1" || event.type !== type) return;
        stop();
        resolve(event);
      });
    });
  const start = async (): Promise<ChildProcess> => {
    const online = becomes("online");
    const child = spawn(
      process.execPath,
      [
        "bin/run-ts.mjs",
        "src/flare-runtime/cell/testing/site-process.ts",
        project.siteDirs["site-1"] as string,
        String(port),
      ],
      { stdio: "ignore" },
    );
    await online;
    return child;
  };
  /** ms from `signal` to the server's offline event. */
  const offlineAfter = async (child: ChildProcess, signal: NodeJS.Signals) => {
    const offline = becomes("offline");
    const sent = performance.now();
    child.kill(signal);
    const event = await offline;
    return { ms: performance.now() - sent, reason: event.type === "offline" ? event.reason : "" };
  };

  const results: Record<string, number[]> = { SIGKILL: [], SIGSTOP: [] };
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      const killed = await start();
      children.push(killed);
      results.SIGKILL?.push((await offlineAfter(killed, "SIGKILL")).ms);
      const frozen = await start();
      children.push(frozen);
      const { ms, reason } = await offlineAfter(frozen, "SIGSTOP");
      results.SIGSTOP?.push(ms);
      if (i === 0) console.log(`a frozen site's reason: ${reason}`);
      frozen.kill("SIGKILL");
    }
  } finally {
    for (const child of children) child.kill("SIGKILL");
    cells.close();
    await server.close();
  }
  const bound = 1.75 * heartbeatMs;
  for (const [signal, samples] of Object.entries(results)) {
    const max = Math.max(...samples);
    console.log(
      `${signal}: offline after ${median(samples).toFixed(0)} ms (median of ${samples.length}), ` +
        `${max.toFixed(0)} ms at most; heartbeat bound ${bound} ms (1.75 × ${heartbeatMs} ms)`,
    );
  }
  console.log(
    JSON.stringify({
      bench: "heartbeat",
      heartbeatMs,
      sigkillMedianMs: median(results.SIGKILL ?? []),
      sigkillMaxMs: Math.max(...(results.SIGKILL ?? [])),
      sigstopMedianMs: median(results.SIGSTOP ?? []),
      sigstopMaxMs: Math.max(...(results.SIGSTOP ?? [])),
    }),
  );
}
