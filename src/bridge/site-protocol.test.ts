import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type CellServer, createCellServer } from "../flare-runtime/cell/cell-server.ts";
import { cellRoutes } from "../flare-runtime/cell/cell-service.ts";
import type { CellSite } from "../flare-runtime/cell/cell-site.ts";
import { createMtlsServer, type MtlsServer } from "../flare-runtime/cell/mtls-server.ts";
import {
  provisionTestProject,
  type TestProject,
} from "../flare-runtime/cell/testing/test-project.ts";
import { packJob } from "../flare-runtime/jobs/job-bundle.ts";
import { signBundle } from "../flare-runtime/jobs/job-signature.ts";
import { encodePayload } from "../flare-runtime/protocol/payload-codec.ts";
import { SITE_TOPICS } from "../flare-runtime/protocol/site-protocol.ts";
import { JobProcesses } from "../flare-runtime/site/job-processes.ts";
import type { SiteKit } from "../flare-runtime/site/read-site-kit.ts";
import type { SiteJobs } from "../flare-runtime/site/site-jobs.ts";
import { serveSite } from "../flare-runtime/site/site-service.ts";
import { ObjectStore } from "../flower-api/objects/object-store.ts";
import { MessageRouter } from "../flower-api/superlink/message-router.ts";
import { NodeRegistry } from "../flower-api/superlink/node-registry.ts";
import { RunRegistry } from "../flower-api/superlink/run-registry.ts";
import { SuperNodeJobs } from "./supernode-jobs.ts";

// The site protocol is one: a site parent (job processes) and the bridge's shim (SuperNodes)
// answer it through the same site service, so both refuse the same bad payloads.

let project: TestProject;
let cells: CellServer;
let server: MtlsServer;
const served: { site: string; cell: CellSite; jobs: SiteJobs; workspace: string }[] = [];
const silent = pino({ level: "silent" });

beforeAll(async () => {
  project = await provisionTestProject(["site-1", "site-2"]);
  const kit = project.server;
  cells = createCellServer({ name: kit.config.name, participants: kit.config.participants });
  server = createMtlsServer({
    ca: kit.rootCaPem,
    cert: kit.certPem,
    key: kit.keyPem,
    streamRoutes: cellRoutes(cells),
  });
  const port = await server.listen(0, "127.0.0.1");
  const serve = async (site: string, jobsFor: (kit: SiteKit, workspace: string) => SiteJobs) => {
    const kit = await project.site(site);
    const workspace = await mkdtemp(join(tmpdir(), `fedbridge-${site}-`));
    const local = {
      ...kit,
      config: { ...kit.config, server: { ...kit.config.server, host: "127.0.0.1" } },
    };
    const jobs = jobsFor(local, workspace);
    const cell = serveSite({ kit: local, jobs, log: silent, port });
    served.push({ site, cell, jobs, workspace });
    await cell.waitConnected(10_000);
  };
  await serve(
    "site-1",
    (kit, workspace) =>
      new JobProcesses({ kit, workspace, runners: {}, log: silent, cell: () => undefined }),
  );
  await serve("site-2", (kit) => {
    const nodes = new NodeRegistry();
    const runs = new RunRegistry();
    const router = new MessageRouter(new ObjectStore(), nodes);
    return new SuperNodeJobs({
      kit,
      fleet: { nodes, runs, router, port: 0 },
      nodeGraceMs: 0,
      log: silent,
    });
  });
}, 60_000);

afterAll(async () => {
  for (const { cell, jobs } of served) {
    await jobs.close();
    await cell.close();
  }
  cells.close();
  await server.close();
});

/** A genuinely signed deployment of test/jobs/sag, as the server sends it. */
async function deployment(jobId: string) {
  const bundle = await packJob("test/jobs/sag");
  const admin = await readFile(join(project.adminDir, "key.pem"), "utf8");
  return {
    jobId,
    bytes: bundle.bytes,
    sha256: bundle.sha256,
    signature: signBundle(bundle.sha256, admin),
    submitterCertPem: await readFile(join(project.adminDir, "cert.pem"), "utf8"),
    config: bundle.meta.config as Record<string, unknown>,
    sites: ["site-1", "site-2"],
  };
}

const refusal = (site: string, topic: string, payload: unknown) =>
  cells.request(site, topic, encodePayload(payload), { timeout: 10_000 }).then(
    () => "accepted",
    (error: Error) => error.message,
  );

describe("the site protocol, at a site parent and at the bridge's shim alike", () => {
  it("refuses a signed deployment whose job id is a path, and writes nothing outside the workspace", async () => {
    const hostile = await deployment("../../../../tmp/fedbridge-hostile-job");
    for (const { site, workspace } of served) {
      expect(await refusal(site, "deploy", hostile)).toMatch(
        /malformed deploy message: jobId: .*is not a job id/,
      );
      expect(await readdir(workspace)).not.toContain("jobs");
    }
    expect(existsSync("/tmp/fedbridge-hostile-job")).toBe(false);
  });

  it("refuses the old shape of a payload whose schema changed, at both", async () => {
    const deploy = SITE_TOPICS.deploy;
    const changed = SITE_TOPICS as unknown as Record<string, z.ZodType>;
    changed.deploy = deploy.extend({ priority: z.number() });
    try {
      const old = await deployment("0b6f1c9e-8f5d-4c2a-9d1e-3a4b5c6d7e8f");
      for (const { site } of served)
        expect(await refusal(site, "deploy", old)).toMatch(/malformed deploy message: priority/);
    } finally {
      changed.deploy = deploy;
    }
  });

  it("refuses malformed stop, reconcile and job payloads, naming the field", async () => {
    for (const { site } of served) {
      expect(await refusal(site, "stop", { job: "x" })).toMatch(/malformed stop message/);
      expect(await refusal(site, "reconcile", { jobIds: ["../x"] })).toMatch(
        /malformed reconcile message: jobIds\.0: .*not a job id/,
      );
      expect(await refusal(site, "job", "garbage")).toMatch(/malformed job message/);
    }
  });
});
