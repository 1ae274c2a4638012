import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * What this machine's kernel spends, in ms of CPU a MB, to write files into the page cache:
 * files kept (the cache grows into memory not used for a while) and files removed as they are
 * written (the cache reuses the memory they free). On a virtual machine whose host takes back
 * free memory (free page reporting, as on the Firecracker machines these benchmarks run on),
 * memory used for the first time in a while costs the host a fault per page, so the first
 * figure is many times the second; elsewhere the two are close. Whatever keeps data on disk
 * (a journal) pays the first.
 */
export async function firstTouchCost(
  mb = 1024,
): Promise<{ freshMsPerMb: number; reusedMsPerMb: number }> {
  const dir = await mkdtemp(join(tmpdir(), "fedbridge-bench-touch-"));
  const piece = Buffer.alloc(2 ** 20, 7);
  const write = async (keep: boolean) => {
    const before = process.cpuUsage().system;
    for (let file = 0; file < mb / 8; file++) {
      const path = join(dir, `${keep}-${file}`);
      const handle = await open(path, "w");
      for (let i = 0; i < 8; i++) await handle.write(piece);
      await handle.close();
      if (!keep) await rm(path);
    }
    return (process.cpuUsage().system - before) / 1000 / mb;
  };
  try {
    const reusedMsPerMb = await write(false);
    const freshMsPerMb = await write(true);
    return { freshMsPerMb, reusedMsPerMb };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
