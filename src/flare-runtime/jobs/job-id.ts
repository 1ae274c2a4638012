import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Checks that a job id is what the server makes (a UUID) before it names a folder or a
 * process: an id from the wire is never a path.
 */
export function checkJobId(id: unknown): string {
  if (typeof id !== "string" || !UUID.test(id))
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${JSON.stringify(id)?.slice(0, 80)} is not a job id (a UUID such as 0b6f1c9e-8f5d-4c2a-9d1e-3a4b5c6d7e8f)`,
    );
  return id;
}
