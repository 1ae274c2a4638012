import { create } from "@bufbuild/protobuf";
import { RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import type { RunRecord, RunRegistry } from "./run-registry.ts";

/** Terminal colour codes Flower's logger writes; a run's follower gets plain text. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/**
 * The log a ServerApp process uploads (ServerAppIo PushLogs: one entry per write, so a line
 * may come in pieces) turned into the run's `log` events, one per whole line.
 */
export class ServerAppLog {
  readonly #partial = new Map<bigint, string>();

  constructor(private readonly runs: RunRegistry) {}

  append(run: RunRecord, writes: readonly string[]): void {
    const text = (this.#partial.get(run.runId) ?? "") + writes.join("");
    const lines = text.split("\n");
    this.#partial.set(run.runId, lines.pop() ?? "");
    for (const line of lines) this.#emit(run, line);
  }

  /** Emits a last line without its newline, at the run's end. */
  flush(run: RunRecord): void {
    const rest = this.#partial.get(run.runId);
    this.#partial.delete(run.runId);
    if (rest) this.#emit(run, rest);
  }

  #emit(run: RunRecord, line: string): void {
    const value = line.replace(ANSI, "").trimEnd();
    this.runs.emit(run, create(RunEventSchema, { event: { case: "log", value } }));
  }
}
