import { hostname } from "node:os";
import { join } from "node:path";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { type HistogramBins, makeHistogram } from "./histogram.ts";
import { createEventFileSink } from "./tensorboard-sink.ts";
import { checkTag, checkTrackingEvent, type TrackingEvent } from "./tracking-event.ts";
import type { TrackingSink } from "./tracking-sink.ts";

let hostSink: { sink: TrackingSink; stamp: { site?: string; job?: string } } | undefined;

/**
 * Where SummaryWriters created without a folder or sink send their events in this process:
 * set by whatever hosts the app (the runtime's job process streams them to the server, stamped
 * with its site and job). `undefined` restores local event files.
 */
export function setHostTrackingSink(
  sink: TrackingSink | undefined,
  stamp: { site?: string; job?: string } = {},
): void {
  hostSink = sink ? { sink, stamp } : undefined;
}

export interface SummaryWriterOptions {
  /**
   * The folder of the event file, used when no `sink` is given; default
   * `runs/<Mon><DD>_<HH>-<MM>-<SS>_<host>` under the working directory, as PyTorch names it.
   */
  logDir?: string;
  /** Where events go instead of an event file; default an event file in `logDir`. */
  sink?: TrackingSink;
  /** The site stamped on every event; default none. */
  site?: string;
  /** The job stamped on every event; default none. */
  job?: string;
  /** Appended to the event file's name, as PyTorch's `filename_suffix`; default none. */
  filenameSuffix?: string;
  /** The clock for wall times and the default folder name; default `Date.now`. */
  now?: () => number;
}

/**
 * Logs scalars, text and histograms with PyTorch's SummaryWriter API (camelCase), to an event
 * file in a local folder or to any TrackingSink, so the same app code logs alone, in
 * simulation and on the runtime. Steps default to 0 and wall times to now, as in PyTorch.
 *
 * A value no backend could store (a non-finite scalar, an empty tag or one over 1,024
 * characters, a negative or fractional step) is refused with a `Code.InvalidArgument`
 * FedbridgeError naming the tag; nothing of that call is written and the writer goes on.
 *
 * @example
 * const writer = new SummaryWriter("runs/mnist");
 * writer.addScalar("train/loss", 0.42, round);
 * await writer.close();
 */
export class SummaryWriter {
  /** The event file's folder, when writing to one. */
  readonly logDir: string | undefined;
  readonly #sink: TrackingSink;
  #stamp: { site?: string; job?: string };
  readonly #now: () => number;
  readonly #pending = new Set<Promise<void>>();
  #failure: unknown;
  #closed = false;

  constructor(logDirOrOptions: string | SummaryWriterOptions = {}) {
    const options =
      typeof logDirOrOptions === "string" ? { logDir: logDirOrOptions } : logDirOrOptions;
    this.#now = options.now ?? Date.now;
    this.#stamp = {
      ...(options.site === undefined ? {} : { site: options.site }),
      ...(options.job === undefined ? {} : { job: options.job }),
    };
    const host = options.logDir === undefined ? hostSink : undefined;
    if (options.sink) {
      this.logDir = options.logDir;
      this.#sink = options.sink;
    } else if (host) {
      // The process runs the app for a host (a runtime job): events go where the host says.
      this.logDir = undefined;
      this.#sink = host.sink;
      this.#stamp = { ...host.stamp, ...this.#stamp };
    } else {
      this.logDir = options.logDir ?? defaultLogDir(new Date(this.#now()));
      this.#sink = createEventFileSink(this.logDir, {
        now: this.#now,
        ...(options.filenameSuffix === undefined ? {} : { filenameSuffix: options.filenameSuffix }),
      });
    }
  }

  addScalar(tag: string, value: number, step?: number, wallTime?: number): void {
    this.#emit([{ kind: "scalar", tag, value, ...this.#base(step, wallTime) }]);
  }

  /**
   * Logs each entry as the scalar `<mainTag>/<key>`. PyTorch writes each key to a run folder of
   * its own instead; one tag per key keeps every sink (the store, the dashboard) to plain
   * scalars. All values are checked before any is written.
   */
  addScalars(
    mainTag: string,
    values: Record<string, number>,
    step?: number,
    wallTime?: number,
  ): void {
    checkTag(mainTag);
    const base = this.#base(step, wallTime);
    this.#emit(
      Object.entries(values).map(([key, value]) => ({
        kind: "scalar",
        tag: `${mainTag}/${key}`,
        value,
        ...base,
      })),
    );
  }

  /** Logs text (Markdown in TensorBoard's text dashboard). */
  addText(tag: string, text: string, step?: number, wallTime?: number): void {
    this.#emit([{ kind: "text", tag, text, ...this.#base(step, wallTime) }]);
  }

  /** Logs the distribution of `values`, bucketed as PyTorch does (see `makeHistogram`). */
  addHistogram(
    tag: string,
    values: ArrayLike<number>,
    step?: number,
    bins: HistogramBins = "tensorflow",
    wallTime?: number,
  ): void {
    checkTag(tag);
    let histogram: ReturnType<typeof makeHistogram>;
    try {
      histogram = makeHistogram(values, bins);
    } catch (error) {
      const failure = FedbridgeError.from(error);
      throw new FedbridgeError(
        failure.code,
        `tracking tag ${JSON.stringify(tag)}: ${failure.message}`,
      );
    }
    this.#emit([{ kind: "histogram", tag, histogram, ...this.#base(step, wallTime) }]);
  }

  /** Waits for the sink to accept everything logged so far, then flushes it. */
  async flush(): Promise<void> {
    await this.#settle();
    await this.#sink.flush?.();
  }

  /** Flushes and closes the sink; later calls to add anything are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
    await this.#sink.close?.();
  }

  #base(step: number | undefined, wallTime: number | undefined) {
    return { step: step ?? 0, wallTime: wallTime ?? this.#now() / 1000, ...this.#stamp };
  }

  /** Checks every event first, so a refused call writes nothing. */
  #emit(events: TrackingEvent[]): void {
    if (this.#closed) throw new FedbridgeError(Code.FailedPrecondition, "SummaryWriter is closed");
    for (const event of events) checkTrackingEvent(event);
    for (const event of events) {
      const result = this.#sink.write(event);
      if (result instanceof Promise) {
        const tracked: Promise<void> = result.then(
          () => void this.#pending.delete(tracked),
          (error: unknown) => {
            this.#failure ??= error;
            this.#pending.delete(tracked);
          },
        );
        this.#pending.add(tracked);
      }
    }
  }

  /** Waits for pending sink writes; the first that failed is thrown once. */
  async #settle(): Promise<void> {
    await Promise.all(this.#pending);
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) throw FedbridgeError.from(failure);
  }
}

/** PyTorch's default log folder: runs/Nov26_09-51-08_myhost. */
function defaultLogDir(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const month = date.toLocaleString("en-US", { month: "short" });
  const stamp = `${month}${pad(date.getDate())}_${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}`;
  return join("runs", `${stamp}_${hostname()}`);
}
