/**
 * A site in a process of its own, for tests that kill it: `node bin/run-ts.mjs
 * src/flare-runtime/cell/testing/site-process.ts KIT_DIR PORT`. It dials the server on
 * 127.0.0.1:PORT with the kit's credentials, answers `pid` (its process id) and `echo`, and
 * prints one JSON line per connection event.
 */
import { readStartupKit } from "../../provision/index.ts";
import { cellSiteOptionsFromKit, createCellSite } from "../cell-site.ts";
import type { SiteKit } from "./test-project.ts";

const [kitDir, port] = process.argv.slice(2);
if (kitDir === undefined || port === undefined) {
  console.error("usage: site-process.ts KIT_DIR PORT");
  process.exit(2);
}
const kit = (await readStartupKit(kitDir)) as SiteKit;
const options = cellSiteOptionsFromKit(kit);
const site = createCellSite({
  ...options,
  server: { ...options.server, host: "127.0.0.1", port: Number(port) },
  backoff: { initialMs: 50, maxMs: 500 },
});
site.subscribe((event) => console.log(JSON.stringify(event)));
site.handle("pid", () => new TextEncoder().encode(String(process.pid)));
site.handle("echo", async ({ payload }) => payload.bytes());
process.on("SIGTERM", () => {
  void site.close().then(() => process.exit(0));
});
