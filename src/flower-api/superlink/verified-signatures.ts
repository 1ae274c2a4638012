import type { KeyObject } from "node:crypto";

/** Default bound: a SuperLink with more nodes than this verifies some of them again. */
const DEFAULT_KEYS = 16_384;

/**
 * The last signature the SuperLink verified for each node key, with the key loaded: a node
 * sends the same signed timestamp on many calls (see SIGNATURE_REUSE_MS), and those bytes give
 * the same answer, so the ECDSA work (and parsing the PEM) is skipped. One entry per key, so
 * every node keeps its entry however many nodes sign at once (a cache of recent signatures
 * shared by all nodes verified everything again past a few thousand). Bounded: the key
 * verified least recently goes first. Only keys with a valid signature get in.
 */
export class VerifiedSignatures {
  readonly #byKey = new Map<string, { key: KeyObject; signed: string }>();
  readonly #limit: number;

  constructor(limit = DEFAULT_KEYS) {
    this.#limit = limit;
  }

  /** The loaded key of `keyPem`, if one was verified, and whether `signed` was its last signature. */
  lookup(keyPem: string, signed: string): { key?: KeyObject; known: boolean } {
    const entry = this.#byKey.get(keyPem);
    if (entry === undefined) return { known: false };
    return { key: entry.key, known: entry.signed === signed };
  }

  /** Records a signature that verified under `key`. */
  add(keyPem: string, key: KeyObject, signed: string): void {
    this.#byKey.delete(keyPem); // re-inserted last: the Map's order is least recent first
    if (this.#byKey.size >= this.#limit) {
      const oldest = this.#byKey.keys().next().value as string;
      this.#byKey.delete(oldest);
    }
    this.#byKey.set(keyPem, { key, signed });
  }

  get size(): number {
    return this.#byKey.size;
  }
}
