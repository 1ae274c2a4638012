/**
 * pino writes one JSON line per record; a person at a terminal wants one short line they can
 * read and grep. This is pino's destination for that: each JSON line becomes
 *
 *   2026-12-04T19:20:01.123Z INFO  server1: job 1234 RUNNING  job=1234
 *
 * (time, level, the component's name, the message, then the record's other fields as key=value).
 */

/** A pino destination: pino calls `write` with one serialized record, newline included. */
export interface LogDestination {
  write(line: string): void;
}

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** Fields every text line shows in its own place, or that every record repeats. */
const SHOWN = ["time", "level", "name", "msg", "pid", "hostname"];

/**
 * The text of one pino record, without the last newline. `hidden` names fields left out
 * because they only repeat the component's name (a logger's base fields). A message of several
 * lines (a job process's output) gives one text line each, each with the time, name and fields,
 * so a grep for a line finds its context.
 */
export function formatLogRecord(
  record: Record<string, unknown>,
  hidden: Iterable<string> = [],
): string {
  const skip = new Set([...SHOWN, ...hidden]);
  const { time, level, name, msg } = record;
  const when = typeof time === "number" ? new Date(time).toISOString() : String(time ?? "");
  const label = (typeof level === "number" ? LEVELS[level] : undefined) ?? String(level);
  const prefix = `${when} ${label.padEnd(5)} ${name === undefined ? "" : `${String(name)}: `}`;
  const fields = Object.entries(record)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(" ");
  return String(msg ?? "")
    .split(/\r?\n/)
    .map((line) => (fields ? `${prefix}${line}  ${fields}` : `${prefix}${line}`))
    .join("\n");
}

/**
 * A destination that writes each record to `out` as its text line. A line that is not a JSON
 * record passes through as it is, so nothing written is ever lost.
 */
export function createTextLogStream(
  out: LogDestination,
  hidden: Iterable<string> = [],
): LogDestination {
  const hide = [...hidden];
  return {
    write(line) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line);
        return;
      }
      if (record === null || typeof record !== "object" || Array.isArray(record)) {
        out.write(line);
        return;
      }
      out.write(`${formatLogRecord(record as Record<string, unknown>, hide)}\n`);
    },
  };
}

/** Bare when it reads unambiguously as one token, quoted (JSON) otherwise. */
function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value !== "object" || value === null) return String(value);
  // pino's error serializer: the message says it; the stack belongs in the JSON format.
  const { message, stack } = value as { message?: unknown; stack?: unknown };
  if (typeof message === "string" && typeof stack === "string") return JSON.stringify(message);
  return JSON.stringify(value);
}
