import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import type { AdminSession } from "./admin-client.ts";

/**
 * Writes a job's files (result.json, logs, tracking files) under `dir`, as the server streams
 * them; a path that would land outside `dir` is refused. Returns how many files were written.
 */
export async function downloadJob(
  session: AdminSession,
  jobId: string,
  dir: string,
): Promise<number> {
  const out = resolve(dir);
  const parts = new Map<string, Buffer[]>();
  let files = 0;
  for await (const chunk of session.client.downloadJob({ id: jobId })) {
    const target = resolve(out, chunk.path);
    if (!target.startsWith(out + sep)) {
      throw new FedbridgeError(Code.DataLoss, `the server sent an unsafe path ${chunk.path}`);
    }
    parts.set(target, [...(parts.get(target) ?? []), Buffer.from(chunk.data)]);
    if (chunk.last) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, Buffer.concat(parts.get(target) ?? []));
      parts.delete(target);
      files++;
    }
  }
  return files;
}
