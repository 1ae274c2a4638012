/**
 * How a SuperNode gets its ClientApp's reply to one instruction: an app that cannot load is
 * answered with an error reply (as Flower's are), and a handler whose run the SuperLink stops
 * meanwhile is abandoned, since nobody waits for its reply any more.
 */
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { ErrorCode, MessageError } from "../message/error.ts";
import { Message } from "../message/message.ts";
import type { LoadedRun } from "./client-app-runs.ts";
import type { FleetConnection } from "./fleet-connection.ts";

/** How often a run whose message is being handled is checked for having been stopped, in ms. */
const RUN_CHECK_MS = 3_000;

/**
 * The ClientApp's reply to an instruction, under the instruction's TTL; undefined when the
 * run is stopped meanwhile (checked every few seconds), its handler then stopped too.
 */
export async function runClientApp(
  connection: FleetConnection,
  nodeId: bigint,
  run: LoadedRun,
  instruction: Message,
  log: (line: string) => void,
): Promise<Message | undefined> {
  if (run.worker === undefined) {
    const failure = run.failure ?? new FedbridgeError(Code.Unknown, "the app is not loaded");
    const code =
      failure.code === Code.DataLoss ? ErrorCode.INVALID_FAB : ErrorCode.LOAD_CLIENT_APP_EXCEPTION;
    return new Message(new MessageError(code, failure.message), { replyTo: instruction });
  }
  const { runId } = instruction.metadata;
  const stopped = new AbortController();
  const watch = setInterval(async () => {
    if (!(await runIsLive(connection, nodeId, runId))) stopped.abort();
  }, RUN_CHECK_MS);
  try {
    const reply = await run.worker.handle(instruction, run.context, stopped.signal);
    if (stopped.signal.aborted) {
      log(`run ${runId} was stopped: its message ${instruction.metadata.messageId} is dropped`);
      return undefined;
    }
    if (reply.hasError()) log(`run ${runId}: error reply: ${reply.error}`);
    return reply;
  } finally {
    clearInterval(watch);
  }
}

/** Whether the SuperLink still runs `runId` (a failed check for another reason counts as yes). */
async function runIsLive(
  connection: FleetConnection,
  nodeId: bigint,
  runId: bigint,
): Promise<boolean> {
  try {
    const { run } = await connection.call(
      Fleet.method.getRun,
      { node: { nodeId }, runId },
      { timeout: 10 },
    );
    return run?.status?.status !== "finished";
  } catch (error) {
    const { code } = FedbridgeError.from(error);
    return code !== Code.PermissionDenied && code !== Code.NotFound;
  }
}
