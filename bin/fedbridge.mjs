#!/usr/bin/env node
import { relaunchTuned } from "./relaunch-tuned.mjs";

if (!relaunchTuned()) {
  await import("./register.mjs");
  await import("../src/cli/main.ts");
}
