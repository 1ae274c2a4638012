import { describe, expect, it } from "vitest";
import { boxMuller } from "./box-muller.ts";

describe("boxMuller", () => {
  it("draws the radius uniform, then the angle uniform, and gives cos then the kept sin", () => {
    const drawn: string[] = [];
    const normal = boxMuller(
      () => {
        drawn.push("radius");
        return 0.25;
      },
      () => {
        drawn.push("angle");
        return 0.125;
      },
    );
    const radius = Math.sqrt(-2 * Math.log(0.25));
    expect(normal()).toBe(radius * Math.cos(2 * Math.PI * 0.125));
    expect(normal()).toBe(radius * Math.sin(2 * Math.PI * 0.125));
    expect(drawn).toEqual(["radius", "angle"]);
    normal();
    expect(drawn).toEqual(["radius", "angle", "radius", "angle"]);
  });
});
