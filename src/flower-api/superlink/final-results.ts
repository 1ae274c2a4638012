/**
 * Finished runs' final models, set aside in files. A run's last event carries its final model,
 * and a SuperLink keeps every event so that a follower who comes late (`run --resume`) sees the
 * whole run: kept in memory, a SuperLink serving run after run held every model it ever made.
 * A large one now waits in a file of `folder` (in the SuperLink's work folder; removed on close);
 * in memory the event keeps each array's name, dtype and shape. Without a file (it could not be
 * written) the event stays whole. The SuperLink makes one and closes it.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { readPartsFile, writePartsFile } from "../../core/parts-file.ts";
import { type RunEvent, RunEventSchema } from "../../gen/fedbridge/v1/control_pb.ts";
import { finalArrays, withoutBytes } from "../control/final-model-stream.ts";

/** Final models of at least this many bytes are set aside (a file costs little; a model, more). */
const SET_ASIDE_BYTES = 16 * 2 ** 10;
const NO_BYTES = new Uint8Array(0);

export class FinalResults {
  readonly #folder: string;
  readonly #log: (line: string) => void;
  #closed = false;
  /**
   * Where the whole event of each run whose model is set aside is: its file, once written, or
   * the event itself where no file could be written.
   */
  readonly #files = new Map<bigint, Promise<string | RunEvent>>();
  /** The whole events, while something still holds them (no need to read the file then). */
  readonly #whole = new Map<bigint, WeakRef<RunEvent>>();

  constructor(folder: string, log: (line: string) => void = () => {}) {
    this.#folder = folder;
    this.#log = log;
  }

  /** The event to keep in memory for `event`: itself, or without its model's bytes. */
  setAside(runId: bigint, event: RunEvent): RunEvent {
    const arrays = finalArrays(event);
    if (arrays.reduce((sum, a) => sum + a.data.byteLength, 0) < SET_ASIDE_BYTES) return event;
    const kept = withoutBytes(event);
    this.#whole.set(runId, new WeakRef(event));
    this.#files.set(runId, this.#write(runId, kept, event));
    return kept;
  }

  /** `event` whole: what `setAside` kept for `runId`, with its model read back. */
  async whole(runId: bigint, event: RunEvent): Promise<RunEvent> {
    const file = this.#files.get(runId);
    if (file === undefined || event.event.case !== "runFinished") return event;
    // Still held (at least while its file is being written): no need to wait for the file.
    const alive = this.#whole.get(runId)?.deref();
    if (alive !== undefined) return alive;
    const path = await file;
    if (typeof path !== "string") return path;
    const { header, parts } = await readPartsFile(path);
    const whole = fromBinary(RunEventSchema, header);
    for (const [i, array] of finalArrays(whole).entries()) array.data = parts[i] ?? NO_BYTES;
    return whole;
  }

  /** Resolves once every model set aside is in its file (or, where none could be written, kept). */
  async written(): Promise<void> {
    await Promise.all(this.#files.values());
  }

  /** Removes the files, once those being written are (the SuperLink is closing). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.written();
    await rm(this.#folder, { recursive: true, force: true });
  }

  /**
   * Writes `whole` as `kept` (no bytes) and its arrays' bytes apart; resolves with the file's
   * path, or with `whole` where it cannot (it then stays in memory).
   */
  async #write(runId: bigint, kept: RunEvent, whole: RunEvent): Promise<string | RunEvent> {
    if (this.#closed) return whole;
    try {
      const path = join(this.#folder, `run-${runId}`);
      const header = toBinary(RunEventSchema, kept);
      const parts = finalArrays(whole).map((array) => array.data);
      await writePartsFile(path, { header, parts });
      return path;
    } catch (error) {
      if (!this.#closed)
        this.#log(
          `run ${runId}: its final model is kept in memory: ${FedbridgeError.from(error).message}`,
        );
      return whole;
    }
  }
}
