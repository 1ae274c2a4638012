/**
 * glibc's malloc settings for fedbridge's processes (`GLIBC_TUNABLES`, read once, as a process
 * starts): `fedbridge superlink` and `fedbridge supernode` start again with them when started
 * without (bin/relaunch-tuned.mjs), and whatever starts one of our processes itself (a job
 * process, the demo's server and sites) passes them on.
 *
 * By default glibc serves each allocation past a threshold (128 KiB, rising to the largest one
 * freed, at most 32 MiB) with pages of its own, and gives the top of its heap back to the kernel
 * once more than twice that is free there. Model-sized data passes through a SuperNode every
 * round in buffers of a few MB (5 MiB object chunks, a layer's arrays), so every round the
 * kernel handed out, zeroed and took back the same gigabytes of pages again. Everything up to
 * 32 MiB from the heap, and the heap never trimmed: a round reuses the pages the last one freed.
 * 2 nodes, ours alone, taking turns: a 1 GB round 8.9 → 6.3 s (the nodes' CPU a round 10.6 →
 * 5.6 s), 100M 2.9–3.1 → 2.5–2.6 s; a node's peak 3,156 → 3,294 MB. The cost: a process keeps
 * what it freed (about its peak) for its next round. glibc reads the list left to right, so a
 * user's own `GLIBC_TUNABLES` (after ours) wins; other C libraries ignore it.
 */
export const MALLOC_TUNABLES =
  "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184";

/** `env` for a process of ours: MALLOC_TUNABLES first, then any tunables already in `env`. */
export function withMallocTuning(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES ?? "";
  if (own.startsWith(MALLOC_TUNABLES)) return { ...env };
  return { ...env, GLIBC_TUNABLES: own ? `${MALLOC_TUNABLES}:${own}` : MALLOC_TUNABLES };
}
