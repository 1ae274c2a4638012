import { openSync } from "node:fs";
import pino, { type DestinationStream, type Logger, type StreamEntry } from "pino";
import { Code, FedbridgeError } from "./fedbridge-error.ts";
import { createTextLogStream, type LogDestination } from "./text-log-stream.ts";

export type { Logger } from "pino";

/** How a process shows its log on stdout: lines for people, or pino's JSON lines. */
export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** The environment variable that picks the format where no flag does. */
export const LOG_FORMAT_ENV = "FEDBRIDGE_LOG_FORMAT";

export interface LoggerOptions {
  /** The component, on every line: a participant's name, or "superlink", "supernode". */
  name: string;
  /** How stdout shows records. Default: $FEDBRIDGE_LOG_FORMAT when set, else text. */
  format?: LogFormat;
  /** Also append every record to this file as a JSON line, whatever the format. Default: none. */
  file?: string;
  /**
   * Fields on every record (in JSON), e.g. `{ site: "site-1" }`; the text format leaves them
   * out, since the name already says who speaks. Default: none.
   */
  base?: Record<string, unknown>;
  /** Where stdout's lines go (tests). Default: process.stdout. */
  stdout?: LogDestination;
}

/**
 * The logger of a long-running fedbridge process (server, client, bridge, superlink,
 * supernode): one format for all of them, so their output reads and greps the same.
 *
 * @example
 * const log = createLogger({ name: "server1", file: join(workspace, "server.log") });
 * log.info({ job: id }, `job ${id} RUNNING`);
 * // 2026-12-04T19:20:01.123Z INFO  server1: job 1234 RUNNING  job=1234
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = options.format ?? logFormatFromEnv();
  const base = options.base ?? {};
  const stdout = options.stdout ?? process.stdout;
  const streams: StreamEntry[] = [
    {
      stream: (format === "json"
        ? stdout
        : createTextLogStream(stdout, Object.keys(base))) as DestinationStream,
    },
  ];
  if (options.file !== undefined) {
    // Opened here, not by pino: a file pino opens itself is not ready for the final flush of a
    // process that exits at once (a port in use), which then crashed with pino's own error.
    const fd = openSync(options.file, "a");
    streams.push({ stream: pino.destination({ fd, sync: false }) });
  }
  return pino({ name: options.name, base }, pino.multistream(streams));
}

/** The format $FEDBRIDGE_LOG_FORMAT asks for; text when it is unset or empty. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const value = env[LOG_FORMAT_ENV];
  return value ? parseLogFormat(value, LOG_FORMAT_ENV) : "text";
}

/** `value` as a LogFormat, or an error naming `source` (a flag or the variable). */
export function parseLogFormat(value: string, source = "--log-format"): LogFormat {
  const format = LOG_FORMATS.find((f) => f === value.trim().toLowerCase());
  if (format === undefined)
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${source} must be ${LOG_FORMATS.join(" or ")}, not '${value}'`,
    );
  return format;
}
