import { createHash } from "node:crypto";

/**
 * How sites appear to a Flower-style app: each site is a node whose id is derived from its
 * name (so it is the same in every job) and whose partition-id is its place among the job's
 * sites sorted by name (so site-1, site-2, site-3 get 0, 1, 2, as simulated nodes do).
 */
export interface SiteNode {
  site: string;
  nodeId: bigint;
  partitionId: number;
}

export function siteNodeId(site: string): bigint {
  const id = createHash("sha256").update(`fedbridge-site:${site}`).digest().readBigUInt64LE() >> 1n;
  return id > 1n ? id : id + 2n; // never 0, never the server's 1
}

export function siteNodes(sites: readonly string[]): SiteNode[] {
  return [...sites]
    .sort()
    .map((site, partitionId) => ({ site, nodeId: siteNodeId(site), partitionId }));
}

/** A job's Flower run id: its id's first 63 bits, the same at the server, every site and the shim. */
export function jobRunId(jobId: string): bigint {
  return BigInt(`0x${jobId.replace(/-/g, "").slice(0, 16).padEnd(16, "0")}`) >> 1n;
}
