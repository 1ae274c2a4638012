/**
 * A byte-budgeted cache of pulled objects: objects are content-addressed, so one kept here is
 * valid for any later message that names it, and an unchanged model is not pulled again.
 */

/** A Map of byte arrays that forgets the oldest entries past a byte budget. */
export class ByteBoundedCache {
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(private readonly budget: number) {}

  get(id: string): Uint8Array | undefined {
    return this.#entries.get(id);
  }

  set(id: string, bytes: Uint8Array): void {
    if (this.#entries.has(id) || bytes.length > this.budget) return;
    this.#entries.set(id, bytes);
    this.#bytes += bytes.length;
    for (const [oldId, old] of this.#entries) {
      if (this.#bytes <= this.budget) break;
      this.#entries.delete(oldId);
      this.#bytes -= old.length;
    }
  }
}
