import { describe, expect, it } from "vitest";
import {
  computeRdp,
  createRdpAccountant,
  DEFAULT_RDP_ORDERS,
  getPrivacySpent,
  logErfc,
} from "./rdp-accountant.ts";

/** TF-Privacy's `compute_dp_sgd_privacy(n, batch_size, noise_multiplier, epochs, delta)`. */
function computeDpSgdPrivacy(
  n: number,
  batchSize: number,
  sigma: number,
  epochs: number,
  delta: number,
) {
  const q = batchSize / n;
  const steps = Math.ceil((epochs * n) / batchSize);
  return getPrivacySpent(DEFAULT_RDP_ORDERS, computeRdp(q, sigma, steps), delta);
}

describe("RDP accountant", () => {
  // Published values: tensorflow/privacy, tensorflow_privacy/privacy/analysis/
  // compute_dp_sgd_privacy_test.py, test_compute_dp_sgd_privacy (commit 03035d5d, 2026-04-06):
  //   ('Test0', 60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0)
  //   ('Test1', 100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0)
  //   ('Test2', 100000000, 1024, 0.1, 10, 1e-7, 5907982.3113984, 1.25)
  // that is (n, batch size, σ, epochs, δ) → (ε, optimal order), q = batch/n, steps =
  // ⌈epochs·n/batch⌉, with the orders DEFAULT_RDP_ORDERS copies from compute_dp_sgd_privacy_lib.
  it("matches TF-Privacy's published ε for MNIST-sized DP-SGD (integer orders)", () => {
    const test0 = computeDpSgdPrivacy(60000, 150, 1.3, 15, 1e-5);
    // TF-Privacy checks with assertAlmostEqual (7 places: |Δ| < 5e-8); so does toBeCloseTo(_, 7).
    expect(test0.epsilon).toBeCloseTo(0.7242234026109595, 7);
    expect(test0.order).toBe(19);
    const test1 = computeDpSgdPrivacy(100000, 100, 1.0, 30, 1e-7);
    expect(test1.epsilon).toBeCloseTo(1.4154988495444842, 7);
    expect(test1.order).toBe(13);
  });

  it("matches TF-Privacy's published ε where a fractional order wins", () => {
    const test2 = computeDpSgdPrivacy(100000000, 1024, 0.1, 10, 1e-7);
    expect(test2.order).toBe(1.25);
    // ε ≈ 6e6 is the RDP at α = 1.25 times 976,563 steps: seven decimal places would ask for
    // 1e-14 relative accuracy, past what a different log-erfc can keep; 1e-12 relative is
    // still far below any difference a wrong term of the series would make.
    expect(Math.abs(test2.epsilon / 5907982.3113984 - 1)).toBeLessThan(1e-12);
  });

  it("gives the Gaussian mechanism's α/(2σ²) per step without sampling", () => {
    // q = 1: 10 steps of σ = 2 at α = 2 and 8: 10·2/8 = 2.5 and 10·8/8 = 10.
    expect(computeRdp(1, 2, 10, [2, 8])).toEqual([2.5, 10]);
    expect(computeRdp(0, 2, 10, [2, 8])).toEqual([0, 0]);
    expect(computeRdp(0.1, 0, 1, [2])).toEqual([Number.POSITIVE_INFINITY]);
    expect(getPrivacySpent([2], [Number.POSITIVE_INFINITY], 1e-5).epsilon).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it("converts RDP to (ε, δ) with Balle et al.'s bound (worked by hand)", () => {
    // r = 1 at α = 2, δ = 1e-5: 1 + ln(1/2) − ln(2e-5)/1 = 1 − 0.693147 + 10.819778 = 11.126631.
    const spent = getPrivacySpent([2], [1], 1e-5);
    expect(spent.epsilon).toBeCloseTo(1 + Math.log(0.5) - Math.log(2e-5), 12);
    expect(spent.epsilon).toBeCloseTo(11.126631, 6);
  });

  it("composes steps: ε grows with rounds and equals the RDP of all steps", () => {
    const accountant = createRdpAccountant();
    expect(accountant.getPrivacySpent(1e-5).epsilon).toBe(0);
    let last = 0;
    for (let round = 1; round <= 5; round++) {
      accountant.step(1.1, 0.3);
      const spent = accountant.getPrivacySpent(1e-5);
      expect(spent.epsilon).toBeGreaterThan(last);
      expect(spent.epsilon).toBeCloseTo(
        getPrivacySpent(DEFAULT_RDP_ORDERS, computeRdp(0.3, 1.1, round), 1e-5).epsilon,
        12,
      );
      last = spent.epsilon;
    }
    accountant.step(2, 1);
    const mixed = computeRdp(0.3, 1.1, 5).map((r, i) => r + (computeRdp(1, 2, 1)[i] as number));
    expect(accountant.getPrivacySpent(1e-5).epsilon).toBeCloseTo(
      getPrivacySpent(DEFAULT_RDP_ORDERS, mixed, 1e-5).epsilon,
      12,
    );
    expect(accountant.steps).toBe(6);
  });
});

describe("logErfc", () => {
  it("agrees with erfc's tabulated values, also where erfc underflows", () => {
    // erfc(1) = 0.15729920705028513, erfc(2) = 0.004677734981047265,
    // erfc(5) = 1.5374597944280351e-12, erfc(10) = 2.088487583762545e-45.
    expect(logErfc(0)).toBeCloseTo(0, 15);
    // To 12 places: 1 − erf(x) from the series loses digits as x nears 2.5 (1e-13 at x = 2).
    expect(logErfc(1)).toBeCloseTo(Math.log(0.15729920705028513), 12);
    expect(logErfc(2)).toBeCloseTo(Math.log(0.004677734981047265), 12);
    expect(logErfc(5)).toBeCloseTo(Math.log(1.5374597944280351e-12), 12);
    expect(logErfc(10)).toBeCloseTo(Math.log(2.088487583762545e-45), 12);
    expect(logErfc(-1)).toBeCloseTo(Math.log(2 - 0.15729920705028513), 12);
    // Far out, erfc(x) ≈ e^(−x²)/(x√π)·(1 − 1/(2x²)): ln erfc(300) = −90000 − ln(300√π) + ….
    expect(logErfc(300)).toBeCloseTo(
      -90000 - Math.log(300 * Math.sqrt(Math.PI)) - 1 / (2 * 300 ** 2),
      9,
    );
  });
});
