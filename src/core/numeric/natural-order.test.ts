import { describe, expect, it } from "vitest";
import { naturalCompare } from "./natural-order.ts";

describe("naturalCompare", () => {
  it("orders numbered names by their numbers", () => {
    const sites = ["site-10", "site-2", "site-1", "site-20", "site-3"];
    expect(sites.sort(naturalCompare)).toEqual([
      "site-1",
      "site-2",
      "site-3",
      "site-10",
      "site-20",
    ]);
  });

  it("orders text as text and is total", () => {
    expect(["b", "a-2", "a-10", "a"].sort(naturalCompare)).toEqual(["a", "a-2", "a-10", "b"]);
    expect(naturalCompare("site-01", "site-1")).not.toBe(0);
    expect(naturalCompare("x", "x")).toBe(0);
  });
});
