import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeSuperLinkTls } from "../src/flower-api/superlink/testing/superlink-tls.ts";
import { killAll, startFedbridge } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";

afterAll(killAll);

describe("native deployment over TLS", () => {
  it("runs an app with --ssl-* on the SuperLink and --root-certificates on nodes and runner", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fedbridge-tls-"));
    const { caFile, certFile, keyFile } = await writeSuperLinkTls(dir);

    // Nodes dial "localhost": Node warns when a TLS server name is an IP address.
    const superlink = startFedbridge([
      "superlink",
      "--ssl-certfile",
      certFile,
      "--ssl-keyfile",
      keyFile,
      "--ssl-ca-certfile",
      caFile,
      "--fleet-api-address",
      "127.0.0.1:0",
      "--control-api-address",
      "127.0.0.1:0",
    ]);
    const [, fleet, control] = await superlink.waitFor(
      /Fleet API on port (\d+), control API on port (\d+)/,
    );
    const nodes = [0, 1].map((i) =>
      startFedbridge([
        "supernode",
        "--superlink",
        `localhost:${fleet}`,
        "--root-certificates",
        caFile,
        "--node-config",
        `partition-id=${i} num-partitions=2`,
      ]),
    );
    await Promise.all(nodes.map((n) => n.waitFor(/connected to/)));
    const out = join(dir, "out");
    const run = await runFedbridge([
      "run",
      "examples/quickstart",
      "--superlink",
      `localhost:${control}`,
      "--root-certificates",
      caFile,
      "--out",
      out,
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(join(out, "result.json"), "utf8")).rounds).toHaveLength(3);
  });

  it("refuses to start without a choice of TLS or --insecure, and names a missing certificate file", async () => {
    const noChoice = await runFedbridge([
      "superlink",
      "--fleet-api-address",
      "127.0.0.1:0",
      "--control-api-address",
      "127.0.0.1:0",
    ]);
    expect(noChoice.code).not.toBe(0);
    expect(noChoice.stderr).toMatch(/choose --insecure, or give --ssl-certfile and --ssl-keyfile/);
    const missing = await runFedbridge([
      "supernode",
      "--superlink",
      "127.0.0.1:1",
      "--root-certificates",
      "/no/such/ca.pem",
    ]);
    expect(missing.stderr).toMatch(/--root-certificates: cannot read \/no\/such\/ca.pem/);
  });
});
