#!/usr/bin/env node
// Runs a TypeScript script of this repository: node bin/run-ts.mjs FILE.ts [args...]
import "./register.mjs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [file, ...rest] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: run-ts FILE.ts [args...]");
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
await import(pathToFileURL(resolve(file)).href);
