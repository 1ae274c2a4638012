import { ReturnCode, type TaskResult } from "../flare-runtime/controller/task.ts";
import { ErrorCode, MessageError } from "../flower-api/message/error.ts";
import { Message } from "../flower-api/message/message.ts";

/**
 * How a site's failed task reaches a Flower-style strategy: the one place where the runtime's
 * return codes become Flower's error codes, one for one, so a site that is gone, one that
 * refused, one whose app crashed and one too slow stay distinct up to the strategy.
 */
const FLOWER_CODE: Record<Exclude<ReturnCode, "OK">, number> = {
  /** The site is offline, or went offline during the task. */
  [ReturnCode.CLIENT_DEAD]: ErrorCode.NODE_UNAVAILABLE,
  /** No result before the task's timeout (the message's TTL). */
  [ReturnCode.TIMEOUT]: ErrorCode.REPLY_MESSAGE_UNAVAILABLE,
  /** The site refused the task: the job does not run there, or its policy refused it. */
  [ReturnCode.REFUSED]: ErrorCode.MOD_FAILED_PRECONDITION,
  /** The site's job process crashed, or a filter failed there. */
  [ReturnCode.ERROR]: ErrorCode.CLIENT_APP_CRASHED,
  /** The job is being aborted: the message is withdrawn. */
  [ReturnCode.ABORTED]: ErrorCode.MESSAGE_UNAVAILABLE,
};

/** The error reply a failed task gives the instruction it carried, naming the site. */
export function failedTaskReply(instruction: Message, result: TaskResult): Message {
  const code = result.code === ReturnCode.OK ? ErrorCode.UNKNOWN : FLOWER_CODE[result.code];
  const reason = `${result.site}: ${result.code}: ${result.message ?? "no reason given"}`;
  return new Message(new MessageError(code, reason), { replyTo: instruction });
}
