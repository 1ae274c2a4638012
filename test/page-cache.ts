import { execFileSync } from "node:child_process";

/** A file's pages in the page cache, as util-linux's fincore counts them. */
export function cachedPages(path: string): number {
  return Number(execFileSync("fincore", ["--bytes", "--noheadings", "--output", "PAGES", path]));
}
