import { createHash } from "node:crypto";
import { naturalCompare } from "../core/numeric/natural-order.ts";
import type { UserConfig } from "../flower-api/app/context.ts";

/**
 * How sites appear to a Flower-style app: each site is a node whose id is derived from its
 * name (so it is the same in every job) and whose partition-id is its place among the job's
 * sites in natural order (site-1, site-2, ..., site-10 get 0, 1, ..., 9, as simulated nodes
 * do); a site's own node config may set another.
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
    .sort(naturalCompare)
    .map((site, partitionId) => ({ site, nodeId: siteNodeId(site), partitionId }));
}

/**
 * A site's node config in a job: its `partition-id` (its place among the job's sites in
 * natural order) and `num-partitions`, under the site's own node config (node-config.json in
 * its kit), which may set both.
 */
export function siteNodeConfig(
  site: string,
  jobSites: readonly string[],
  own: Readonly<UserConfig>,
): UserConfig {
  const node = siteNodes(jobSites).find((n) => n.site === site);
  return { "partition-id": node?.partitionId ?? 0, "num-partitions": jobSites.length, ...own };
}

/** A job's Flower run id: its id's first 63 bits, the same at the server, every site and the shim. */
export function jobRunId(jobId: string): bigint {
  return BigInt(`0x${jobId.replace(/-/g, "").slice(0, 16).padEnd(16, "0")}`) >> 1n;
}
