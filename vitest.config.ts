import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Example apps import the package by name; in tests that is this checkout.
    alias: {
      "fedbridge/tracking": src("tracking/index.ts"),
      "fedbridge/strategy": src("flower-api/strategy/index.ts"),
      "fedbridge/privacy": src("flower-api/privacy/index.ts"),
      "fedbridge/runtime": src("flare-runtime/index.ts"),
      "fedbridge/ml/logistic-regression": src("ml/logistic-regression.ts"),
      "fedbridge/ml": src("ml/index.ts"),
      fedbridge: src("index.ts"),
    },
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "examples/**/*.test.ts"],
    globalSetup: ["test/temp-root.ts"],
    // Multi-process tests share 2 cores with each other: generous, so load alone never fails one.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two files at a time: most multi-process tests wait on their children, so the second
    // worker fills the idle core (the suite takes ~13 min instead of ~19 on 2 cores).
    maxWorkers: 2,
  },
});
