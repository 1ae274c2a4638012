import type { Command } from "commander";
import { startDashboard } from "../dashboard/index.ts";
import { integer } from "./options.ts";
import { untilSignal } from "./superlink.ts";

/**
 * `fedbridge dashboard --kit ADMIN_KIT [--port P] [--host H]`: the live web dashboard (sites,
 * jobs, per-round metric plots), calling the server as the kit's admin. Prints the page's URL.
 */
export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("the live web dashboard: sites, jobs and per-round metric plots")
    .requiredOption("--kit <dir>", "an admin's startup kit (the dashboard acts as this admin)")
    .option("--port <port>", "the HTTP port (default 8090; 0: any free port)", integer)
    .option("--host <host>", "listen on this address (default 127.0.0.1: this machine only)")
    .action(async (flags: { kit: string; port?: number; host?: string }) => {
      const dashboard = await startDashboard({
        kitDir: flags.kit,
        ...(flags.port === undefined ? {} : { port: flags.port }),
        ...(flags.host ? { host: flags.host } : {}),
      });
      console.log(`dashboard on ${dashboard.url}`);
      await untilSignal();
      await dashboard.close();
    });
}
