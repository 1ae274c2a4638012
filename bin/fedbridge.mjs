#!/usr/bin/env node
import "./register.mjs";

await import("../src/cli/main.ts");
