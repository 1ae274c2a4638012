/**
 * glibc's malloc settings for fedbridge's processes (`GLIBC_TUNABLES`, read once, as a process
 * starts): `fedbridge superlink` and `fedbridge supernode` start again with them when started
 * without (bin/relaunch-tuned.mjs), and whatever starts one of our processes itself (a job
 * process, the demo's server and sites) passes them on. Plain JavaScript (its types in
 * malloc-tuning.d.mts): the bin uses it before TypeScript is loadable.
 *
 * By default glibc serves each allocation past a threshold (128 KiB, rising to the largest one
 * freed, at most 32 MiB) with pages of its own, gives the top of its heap back to the kernel
 * once more than twice that is free there, and keeps a heap per thread. Model-sized data passes
 * through a SuperNode every round in buffers of a few MB (5 MiB object chunks, a layer's arrays,
 * their NPY copies in the ClientApp's thread), so every round the kernel handed out, zeroed and
 * took back the same gigabytes of pages again. Everything up to 32 MiB from the heap, the heap
 * never trimmed, one heap for all threads (what the ClientApp's thread frees, the next pull
 * reuses): a round reuses the pages the last one freed. 2 nodes, ours alone, taking turns: a
 * 1 GB round 8.9 → 6.3–6.7 s with the first two, 5.2–5.3 s with the third and the ClientApp's
 * arrays in that heap (npyInSharedMemory); 100M 2.9–3.1 → 2.2 s; a node's peak 3,156 → 3,180
 * MB. The cost: a process keeps what it freed (about its peak) for its next round. glibc reads
 * the list left to right, so a user's own `GLIBC_TUNABLES` (after ours) wins; other C libraries
 * ignore it.
 */
export const MALLOC_TUNABLES =
  "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184";

/** `env` for a process of ours: MALLOC_TUNABLES first, then any tunables already in `env`. */
export function withMallocTuning(env = process.env) {
  if (mallocTuned(env)) return { ...env };
  const own = env.GLIBC_TUNABLES;
  return { ...env, GLIBC_TUNABLES: own ? `${MALLOC_TUNABLES}:${own}` : MALLOC_TUNABLES };
}

/** Whether a process with `env` (default: this one's; a thread sees its process's) is tuned. */
export function mallocTuned(env = process.env) {
  return (env.GLIBC_TUNABLES ?? "").startsWith(MALLOC_TUNABLES);
}
