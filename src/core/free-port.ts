import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port we hand out: below it lie well-known and commonly configured services. */
const LOWEST = 10_000;

/**
 * A loopback port that is free now (for servers started on a chosen port: demos, tests).
 *
 * It is chosen at random below the kernel's ephemeral range. A port the kernel handed out
 * (listen on port 0) lies inside that range, where any outgoing connection may take it before
 * the server that was meant to have it starts; under a loaded test run one did.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  for (let attempt = 0; attempt < 50 && highest > LOWEST; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (await isFree(port)) return port;
  }
  return kernelChosenPort();
}

/** Linux's first ephemeral port; where that can't be read, IANA's (49152, as macOS uses). */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/);
    const start = Number(low);
    return Number.isInteger(start) && start > 0 ? start : 49_152;
  } catch {
    return 49_152;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function kernelChosenPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
