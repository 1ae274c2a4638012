/**
 * A byte-budgeted cache of pulled objects: objects are content-addressed, so one kept here is
 * valid for any later message that names it, and an unchanged model is not pulled again.
 */

/** A Map of byte arrays that forgets the oldest entries past a byte budget. */
export class ByteBoundedCache {
  /** Each entry with its length when kept: a view whose buffer moved to a thread reads 0. */
  readonly #entries = new Map<string, { bytes: Uint8Array; length: number }>();
  #bytes = 0;

  /** `largest`: an entry of that many bytes or more is not kept. Default: the budget's. */
  constructor(
    private readonly budget: number,
    private readonly largest = budget + 1,
  ) {}

  /** The bytes kept under `id`; none once their buffer was moved to another thread. */
  get(id: string): Uint8Array | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.bytes.byteLength === entry.length) return entry?.bytes;
    this.#delete(id, entry.length);
    return undefined;
  }

  set(id: string, bytes: Uint8Array): void {
    if (this.#entries.has(id) || bytes.length > this.budget || bytes.length >= this.largest) return;
    this.#entries.set(id, { bytes, length: bytes.length });
    this.#bytes += bytes.length;
    for (const [oldId, old] of this.#entries) {
      if (this.#bytes <= this.budget) break;
      this.#delete(oldId, old.length);
    }
  }

  #delete(id: string, length: number): void {
    this.#entries.delete(id);
    this.#bytes -= length;
  }
}
