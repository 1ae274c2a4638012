/**
 * Which sites of the project the server can reach right now. Every client participant is
 * listed from the start (offline until it first connects); a site that reconnects keeps its
 * one entry. Listeners hear each change of state as it happens, not by polling.
 */

/** One site as the server sees it. */
export interface SiteStatus {
  name: string;
  online: boolean;
  /** When its last heartbeat (or its Hello) came; undefined if it never connected. */
  lastHeartbeat: Date | undefined;
  /** When its current (or last) connection was welcomed. */
  connectedAt: Date | undefined;
  /** Its process's random id (Hello.instance): changes when the site restarts. */
  instance: string | undefined;
  remoteAddress: string | undefined;
}

/** A site came online or went offline; `reason` says why it went. */
export type SiteEvent =
  | { type: "online"; site: SiteStatus }
  | { type: "offline"; site: SiteStatus; reason: string };

export class SiteRegistry {
  readonly #sites = new Map<string, SiteStatus>();
  readonly #listeners = new Set<(event: SiteEvent) => void>();

  constructor(siteNames: readonly string[]) {
    for (const name of siteNames)
      this.#sites.set(name, {
        name,
        online: false,
        lastHeartbeat: undefined,
        connectedAt: undefined,
        instance: undefined,
        remoteAddress: undefined,
      });
  }

  /** Every site, in the project's order; copies, so callers cannot change the registry. */
  list(): SiteStatus[] {
    return [...this.#sites.values()].map((site) => ({ ...site }));
  }

  get(name: string): SiteStatus | undefined {
    const site = this.#sites.get(name);
    return site && { ...site };
  }

  has(name: string): boolean {
    return this.#sites.has(name);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  subscribe(listener: (event: SiteEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  markOnline(name: string, instance: string, remoteAddress: string | undefined): void {
    const site = this.#sites.get(name);
    if (!site) return;
    const now = new Date();
    Object.assign(site, {
      online: true,
      lastHeartbeat: now,
      connectedAt: now,
      instance,
      remoteAddress,
    });
    this.#emit({ type: "online", site: { ...site } });
  }

  markOffline(name: string, reason: string): void {
    const site = this.#sites.get(name);
    if (!site?.online) return;
    site.online = false;
    this.#emit({ type: "offline", site: { ...site }, reason });
  }

  heartbeat(name: string): void {
    const site = this.#sites.get(name);
    if (site) site.lastHeartbeat = new Date();
  }

  #emit(event: SiteEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the registry and the other listeners carry on.
      }
    }
  }
}
