import { describe, expect, it } from "vitest";
import { MALLOC_TUNABLES, mallocTuned, withMallocTuning } from "./malloc-tuning.mjs";

describe("malloc tuning", () => {
  it("puts the tunables first, before any the user set (glibc lets later ones win)", () => {
    expect(withMallocTuning({ PATH: "/bin" })).toEqual({
      PATH: "/bin",
      GLIBC_TUNABLES: MALLOC_TUNABLES,
    });
    expect(withMallocTuning({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=0" })).toEqual({
      GLIBC_TUNABLES: `${MALLOC_TUNABLES}:glibc.malloc.trim_threshold=0`,
    });
  });

  it("adds nothing to an environment that has them (a process started by the bin)", () => {
    const env = { GLIBC_TUNABLES: `${MALLOC_TUNABLES}:` };
    expect(withMallocTuning(env)).toEqual(env);
  });

  it("tells a tuned environment from others", () => {
    expect(mallocTuned({ GLIBC_TUNABLES: `${MALLOC_TUNABLES}:glibc.malloc.arena_max=4` })).toBe(
      true,
    );
    expect(mallocTuned({})).toBe(false);
    expect(mallocTuned({ GLIBC_TUNABLES: "glibc.malloc.arena_max=4" })).toBe(false);
  });
});
