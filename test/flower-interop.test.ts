/**
 * fedbridge with a real Flower 1.28 (FEDBRIDGE_FLOWER_BIN; see test/flower-peer.ts): Flower's
 * own SuperNodes on our SuperLink, a mixed federation, a TypeScript-only app on a Python node,
 * and Flower's CLI on our Control API. The app is test/apps/pyquick: a numpy-only Flower app
 * (publisher `lab`, version 2.1.0) whose node p trains to p+1 with num-examples 10(p+1), with a
 * TypeScript twin; two nodes give (1*10 + 2*20)/30 = 1.6667 in float32.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { siteNodeId } from "../src/bridge/site-nodes.ts";
import { decodeArrayRecord } from "../src/flower-api/records/serde.ts";
import {
  flowerBin,
  flwr,
  flwrHome,
  killFlower,
  SKIP_NO_FLOWER,
  startFlowerSuperLink,
  startFlowerSuperNode,
} from "./flower-peer.ts";
import { killAll, startFedbridge, startTestSuperLink, startTestSuperNode } from "./processes.ts";
import { runFedbridge } from "./run-fedbridge.ts";
import { excludeAtSite, freePort, startTestRuntime } from "./runtime-harness.ts";

const APP = "test/apps/pyquick";
/**
 * FedAvg of [1,1,1,1] (10 examples) and [2,2,2,2] (20 examples) in float32: 1.6667, exactly
 * the value Flower's own SuperLink gives for this app (its ServerApp prints 1.6666667461395264).
 */
const EXPECTED = 1.6666667461395264;

if (flowerBin === undefined) {
  describe("fedbridge with a real Flower 1.28", () => {
    it.skip(`${SKIP_NO_FLOWER} (set FEDBRIDGE_FLOWER_BIN to its bin folder)`, () => {});
  });
  console.log(`flower-interop: ${SKIP_NO_FLOWER}`);
} else {
  afterEach(() => {
    killFlower();
    killAll();
  });
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tempDir = async (name: string) => {
    const dir = await mkdtemp(join(tmpdir(), name));
    dirs.push(dir);
    return dir;
  };

  /** `fedbridge run APP --superlink` with --out; resolves with the run and its final arrays. */
  async function runApp(app: string, control: string) {
    const out = await tempDir("flower-interop-out-");
    const run = await runFedbridge(
      ["run", app, "--superlink", control, "--insecure", "--out", out],
      180_000,
    );
    const arrays =
      run.code === 0 ? decodeArrayRecord(await readFile(join(out, "final-arrays.pb"))) : undefined;
    return { run, arrays };
  }

  /** The path of the first file called `name` under `dir`. */
  async function findFile(dir: string, name: string): Promise<string> {
    const entries = await readdir(dir, { recursive: true });
    const found = entries.find((entry) => entry === name || entry.endsWith(`/${name}`));
    if (found === undefined) throw new Error(`no ${name} under ${dir}: ${entries.join(", ")}`);
    return join(dir, found);
  }

  const values = (arrays: ReturnType<typeof decodeArrayRecord> | undefined) =>
    [...(arrays?.values() ?? [])].map((a) => [a.dtype, [...a.toTypedArray()]]);

  describe("fedbridge with a real Flower 1.28", () => {
    it("2 real flower-supernodes load the app (publisher lab, version 2.1.0) and train to 1.6667", async () => {
      const { fleet, control } = await startTestSuperLink();
      const nodes = [
        await startFlowerSuperNode(fleet, 0, 2),
        await startFlowerSuperNode(fleet, 1, 2),
      ];
      const { run, arrays } = await runApp(APP, control);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(values(arrays)).toEqual([["float32", [EXPECTED, EXPECTED, EXPECTED, EXPECTED]]]);
      // Flower installed it under the app's own identity, not one we made up.
      for (const node of nodes)
        expect(node.output()).toMatch(
          /Successfully installed pyquick to .*lab\.pyquick\.2\.1\.0\./,
        );
    }, 300_000);

    it("1 real flower-supernode (Python ClientApp) and 1 of ours (its TypeScript twin) give the same value", async () => {
      const { fleet, control } = await startTestSuperLink();
      const python = await startFlowerSuperNode(fleet, 0, 2);
      await startTestSuperNode(fleet, 1, 2);
      const { run, arrays } = await runApp(APP, control);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(values(arrays)).toEqual([["float32", [EXPECTED, EXPECTED, EXPECTED, EXPECTED]]]);
      expect(python.output()).toMatch(/lab\.pyquick\.2\.1\.0\./);
    }, 300_000);

    it("a TypeScript-only app on a Python node: a clear error reply in our output, the node still running", async () => {
      const app = await tempDir("flower-interop-tsonly-");
      for (const file of ["package.json", "server.ts", "client.ts"])
        await cp(join(APP, file), join(app, file));
      const { fleet, control } = await startTestSuperLink();
      const python = await startFlowerSuperNode(fleet, 0, 2);
      await startTestSuperNode(fleet, 1, 2);
      const { run, arrays } = await runApp(app, control);
      const reason =
        "this app's ClientApp is TypeScript (client.ts): run a fedbridge supernode at this site";
      // The node's reply names the reason, and our output shows it, not only the code.
      expect(run.stderr).toContain(
        `CLIENT_APP_RAISED_EXCEPTION: <class 'RuntimeError'>:<'${reason}'>`,
      );
      // The strategy refuses rounds with a failed reply, so the model stays as it was; exit 0.
      expect(run.stdout + run.stderr).toContain("(1 failed replies)");
      expect(run.code).toBe(0);
      expect(values(arrays)).toEqual([["float32", [0, 0, 0, 0]]]);
      expect(python.alive()).toBe(true);
      expect(python.output()).toContain(`RuntimeError: ${reason}`);
    }, 300_000);

    it("through the runtime: 2 sites, each a bridge with a real flower-supernode, train the app (lab 2.1.0) to 1.6667", async () => {
      const runtime = await startTestRuntime(0, 2);
      const nodes = [];
      for (const i of [1, 2]) {
        const fleetPort = await freePort();
        const bridge = startFedbridge([
          "bridge",
          "--kit",
          join(runtime.kits, `site-${i}`),
          "--fleet-api-address",
          `127.0.0.1:${fleetPort}`,
        ]);
        await bridge.waitFor(/connected to server1/);
        nodes.push(await startFlowerSuperNode(`127.0.0.1:${fleetPort}`, i - 1, 2));
      }
      const submitted = await runtime.admin(["submit", APP]);
      expect(submitted.code).toBe(0);
      const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
      const waited = await runtime.admin(["wait", jobId, "--timeout", "240"]);
      expect(waited.stdout + waited.stderr).toContain("COMPLETED");
      expect(waited.code).toBe(0);
      const out = await tempDir("flower-interop-job-");
      expect((await runtime.admin(["download", jobId, "-o", out])).code).toBe(0);
      const arrays = decodeArrayRecord(await readFile(await findFile(out, "final-arrays.pb")));
      expect(values(arrays)).toEqual([["float32", [EXPECTED, EXPECTED, EXPECTED, EXPECTED]]]);
      // The shim sent the app's own identity (it sent fab version 0.0.0 and no pyproject.toml).
      for (const node of nodes) expect(node.output()).toMatch(/lab\.pyquick\.2\.1\.0\./);
    }, 400_000);

    it("through the runtime, a site's ExcludeVars removes an array from its Python ClientApp's reply", async () => {
      // test/apps/privacy-probe (TypeScript ServerApp) with a Python ClientApp: it answers w+0.5
      // and an array "secret" it was not sent.
      const app = await tempDir("flower-interop-probe-");
      await cp("test/apps/privacy-probe", app, { recursive: true });
      await mkdir(join(app, "probe_py"));
      await writeFile(join(app, "probe_py", "__init__.py"), "");
      await writeFile(
        join(app, "probe_py", "client_app.py"),
        [
          "import numpy as np",
          "from flwr.app import Array, ArrayRecord, Message, RecordDict",
          "from flwr.clientapp import ClientApp",
          "",
          "app = ClientApp()",
          "",
          "",
          "@app.query()",
          "def query(msg, context):",
          '    w = msg.content["arrays"]["w"].numpy()',
          "    secret = np.array([42], dtype=np.float32)",
          '    arrays = ArrayRecord({"w": Array(w + 0.5), "secret": Array(secret)})',
          '    return Message(content=RecordDict({"arrays": arrays}), reply_to=msg)',
          "",
        ].join("\n"),
      );
      await writeFile(
        join(app, "pyproject.toml"),
        [
          "[project]",
          'name = "privacy-probe"',
          'version = "1.0.0"',
          "[tool.flwr.app]",
          'publisher = "lab"',
          "[tool.flwr.app.components]",
          "# The ServerApp is server.ts; a Flower node only loads the ClientApp.",
          'serverapp = "probe_py.client_app:app"',
          'clientapp = "probe_py.client_app:app"',
          "[tool.flwr.app.config]",
          "",
        ].join("\n"),
      );
      const runtime = await startTestRuntime(0, 2, {
        beforeSitesStart: (kits) => excludeAtSite(kits, "site-2", ["secret"]),
      });
      for (const i of [1, 2]) {
        const fleetPort = await freePort();
        const bridge = startFedbridge([
          "bridge",
          "--kit",
          join(runtime.kits, `site-${i}`),
          "--fleet-api-address",
          `127.0.0.1:${fleetPort}`,
        ]);
        await bridge.waitFor(/connected to server1/);
        await startFlowerSuperNode(`127.0.0.1:${fleetPort}`, i - 1, 2);
      }
      const submitted = await runtime.admin(["submit", app]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const jobId = submitted.stdout.trim().split("\n").at(-1) as string;
      const waited = await runtime.admin(["wait", jobId, "--timeout", "240"]);
      expect(waited.stdout).toMatch(/FINISHED:COMPLETED/);
      const log = await readFile(join(runtime.kits, "server1", "jobs", jobId, "log.txt"), "utf8");
      const reply = (site: string) =>
        new RegExp(`reply from node ${siteNodeId(site)}: arrays (\\S*) w (\\S*)`)
          .exec(log)
          ?.slice(1);
      expect(reply("site-1")).toEqual(["w,secret", "[1.5,2.5]"]);
      expect(reply("site-2")).toEqual(["w", "[1.5,2.5]"]);
    }, 400_000);

    it("fedbridge run --superlink against Flower's own SuperLink says which is which", async () => {
      const flower = await startFlowerSuperLink();
      const run = await runFedbridge(["run", APP, "--superlink", flower.control, "--insecure"]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(
        `${flower.control} does not serve fedbridge's control API (fedbridge.v1.Control); it is likely Flower's own SuperLink`,
      );
    }, 120_000);

    it("one of our SuperNodes on Flower's own SuperLink: registered, sent the run, its reply counted", async () => {
      // Our node speaks the Fleet API through our own gRPC client: here to Python's grpcio.
      const flower = await startFlowerSuperLink();
      const ours = await startTestSuperNode(flower.fleet, 1, 2);
      const [, ourId] = ours.output().match(/as node (\d+)/) ?? [];
      await startFlowerSuperNode(flower.fleet, 0, 2);
      const home = await flwrHome(flower.control);
      const app = await tempDir("flower-interop-their-link-");
      await cp(APP, app, { recursive: true });
      // Flower's CLI packs no .ts files, so our node has no ClientApp to run: it pulls the
      // message and the app, and answers with an error, which Flower's strategy counts.
      const run = await flwr(["run", ".", "fb", "--stream"], home, app);
      expect(run.output).toMatch(/Successfully started run \d+/);
      expect(run.output).toContain("Received 1 results and 1 failures");
      expect(run.output).toContain(`Received error in reply from node ${ourId}`);
      expect(run.output).toContain("PYQUICK_RESULT [1.0, 1.0, 1.0, 1.0]");
      expect(ours.output()).toMatch(/cannot load the app: .* carries no .ts files/);
      expect(ours.child.exitCode).toBeNull(); // still running
    }, 300_000);

    it("Flower's CLI on our Control API: flwr run, ls, log and stop", async () => {
      const { fleet, control } = await startTestSuperLink();
      const home = await flwrHome(control);
      const app = await tempDir("flower-interop-flwr-");
      await cp(APP, app, { recursive: true });

      // A run with a TypeScript ServerApp that waits for its 2 nodes: ls, log and stop it.
      const waiting = startFedbridge(["run", resolve(APP), "--superlink", control, "--insecure"]);
      const [, runId] = await waiting.waitFor(/started run (\d+)/);
      const ls = await flwr(["ls", "fb"], home, app);
      expect(ls.code).toBe(0);
      expect(ls.output).toContain(runId);
      expect(ls.output).toContain("@lab/pyquick");
      expect(ls.output).toContain("running");
      const log = await flwr(["log", runId as string, "fb", "--show"], home, app);
      expect(log.output).toMatch(/wait/i);
      const stop = await flwr(["stop", runId as string, "fb"], home, app);
      expect(stop.code).toBe(0);
      expect(stop.output).toMatch(/successfully stopped/i);
      expect(await waiting.exited).not.toBe(0);
      expect(waiting.output()).toMatch(/stopped/);

      // flwr run . of the Python app: the FAB (no .ts files) starts a run whose Python
      // ServerApp runs in Flower's flwr-serverapp (ServerAppIo) and trains the 2 Flower nodes.
      await Promise.all([0, 1].map((i) => startFlowerSuperNode(fleet, i, 2)));
      const started = await flwr(["run", ".", "fb", "--stream"], home, app);
      expect(started.output).toMatch(/Successfully started run \d+/);
      expect(started.output).toContain("1.6666667");
      const listed = await flwr(["ls", "fb"], home, app);
      expect(listed.output).toMatch(/finished:completed|completed/i);
    }, 300_000);
  });
}
