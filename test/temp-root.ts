/**
 * The suite's temporary files in one folder of its own, removed when the run ends: TMPDIR
 * points there for the test workers and every process they start, so a folder that a killed
 * process could not remove (a test's SIGKILL is often the point) does not outlive the run.
 * Each run had left some 230 folders in /tmp.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "fedbridge-tests-"));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
