import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { writeFileInside } from "../../core/security/path-inside.ts";
import { checkJobId } from "../jobs/job-id.ts";
import type { AdminSession } from "./admin-client.ts";

/**
 * Writes a job's files (result.json, logs, tracking files) under `dir`, as the server streams
 * them. A path that would land outside `dir` is refused, and nothing is written through a
 * symlink that `dir` already holds. Returns how many files were written.
 */
export async function downloadJob(
  session: AdminSession,
  jobId: string,
  dir: string,
): Promise<number> {
  checkJobId(jobId);
  const parts = new Map<string, Uint8Array[]>();
  let files = 0;
  for await (const chunk of session.client.downloadJob({ id: jobId })) {
    parts.set(chunk.path, [...(parts.get(chunk.path) ?? []), chunk.data]);
    if (chunk.last) {
      await writeFileInside(dir, chunk.path, parts.get(chunk.path) ?? []).catch((error) => {
        throw new FedbridgeError(
          Code.DataLoss,
          `cannot write ${chunk.path} the server sent: ${FedbridgeError.from(error).message}`,
        );
      });
      parts.delete(chunk.path);
      files++;
    }
  }
  return files;
}
