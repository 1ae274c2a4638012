import { describe, expect, it } from "vitest";
import { explainReason } from "./phase-outcome.ts";

describe("explainReason", () => {
  it("says where to look when a Flower node gives its fixed load reason", () => {
    const flower = "An exception was raised when attempting to load `ClientApp`";
    expect(explainReason(flower)).toMatch(
      /^An exception was raised when attempting to load `ClientApp` \(a Flower node: its own log has the traceback; .*fab id and version/,
    );
  });

  it("keeps every other reason as the node gave it", () => {
    const reason = "<class 'ValueError'>:<'bad input'>";
    expect(explainReason(reason)).toBe(reason);
  });
});
