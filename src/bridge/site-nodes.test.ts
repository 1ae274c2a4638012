import { describe, expect, it } from "vitest";
import { siteNodeConfig, siteNodes } from "./site-nodes.ts";

describe("sites as nodes", () => {
  it("numbers partitions in the natural order of the site names (site-2 before site-10)", () => {
    const sites = ["site-10", "site-2", "site-1"];
    expect(siteNodes(sites).map((n) => [n.site, n.partitionId])).toEqual([
      ["site-1", 0],
      ["site-2", 1],
      ["site-10", 2],
    ]);
  });

  it("gives a site's own node config over the generated one, which it may replace", () => {
    const sites = ["site-1", "site-2", "site-10"];
    expect(siteNodeConfig("site-10", sites, { "data-path": "/data/x" })).toEqual({
      "partition-id": 2,
      "num-partitions": 3,
      "data-path": "/data/x",
    });
    expect(siteNodeConfig("site-2", sites, { "partition-id": 0 })).toEqual({
      "partition-id": 0,
      "num-partitions": 3,
    });
  });
});
