/**
 * The frames waiting to go out on one stream, as the async iterable `writeFrames` pulls from.
 * It pulls the next frame only once HTTP/2 has taken the previous one, so this queue is where a
 * slow link shows; senders of large payloads never put more than their
 * credit window in it, which keeps it short.
 */
import type { CellFrame } from "../../gen/fedbridge/v1/cell_pb.ts";

export class FrameQueue implements AsyncIterable<CellFrame> {
  readonly #frames: CellFrame[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: unknown;

  /** Queues a frame; ignored once the queue has ended. */
  push(frame: CellFrame): void {
    if (this.#ended) return;
    this.#frames.push(frame);
    this.#wakeUp();
  }

  /** Frames queued and not yet pulled. */
  get length(): number {
    return this.#frames.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the stream after the frames already queued, or at once with `error`. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error !== undefined) {
      this.#error = error;
      this.#frames.length = 0;
      this.#head = 0;
    }
    this.#wakeUp();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CellFrame> {
    for (;;) {
      if (this.#head < this.#frames.length) {
        const frame = this.#frames[this.#head] as CellFrame;
        this.#frames[this.#head++] = undefined as unknown as CellFrame;
        if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
          this.#frames.splice(0, this.#head);
          this.#head = 0;
        }
        yield frame;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
