/**
 * 1 GB from the server to 2 sites through the cells (chunks under credit, one bidirectional
 * stream per site, mTLS on loopback), against a raw gRPC stream of the same bytes over the
 * same mTLS (the same 1 MiB CellFrame messages through Connect, with the same HTTP/2 windows,
 * yielded as fast as Connect writes them: no credit, no acknowledgement, no request/reply)
 * measured in the same run, and a raw HTTP/2 stream (no gRPC, no protobuf) for the ceiling of
 * the link. Reports MB/s, the cells' ratio to raw gRPC (goal: at least 0.5) and the server's
 * peak RSS during the cell transfer (goal: under 2.5 GB). Sites are 2 child processes, so the
 * server's RSS is the server's alone. `BENCH_MB` shrinks the payload, `BENCH_ROUNDS` (default 2)
 * alternates the methods that many times.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { frames } from "../src/flare-runtime/cell/frames.ts";
import {
  cellRoutes,
  cellSiteOptionsFromKit,
  createCellServer,
  createCellSite,
  createMtlsServer,
  HTTP2_WINDOW_BYTES,
  MAX_FRAME_BYTES,
} from "../src/flare-runtime/cell/index.ts";
import {
  provisionTestProject,
  type SiteKit,
} from "../src/flare-runtime/cell/testing/test-project.ts";
import { readStartupKit } from "../src/flare-runtime/provision/index.ts";
import { CellService } from "../src/gen/fedbridge/v1/cell_pb.ts";
import { procStatusBytes } from "./lib/proc.ts";

export const description =
  "cells: 1 GB to 2 sites over mTLS; MB/s as a ratio to a raw gRPC stream, server peak RSS";

const MiB = 2 ** 20;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = <T>(bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as T;

export async function run(): Promise<void> {
  const bytes = Number(process.env.BENCH_MB ?? 1024) * MiB;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  // Random bytes, as incompressible as trained weights.
  const model = randomFillSync(new Uint8Array(bytes));

  const project = await provisionTestProject(["site-1", "site-2"]);
  const kit = project.server;
  const tls = { ca: kit.rootCaPem, cert: kit.certPem, key: kit.keyPem };
  const cells = createCellServer({ name: kit.config.name, participants: kit.config.participants });
  const cellServer = createMtlsServer({ ...tls, streamRoutes: cellRoutes(cells) });
  const cellPort = await cellServer.listen(0, "127.0.0.1");
  // Raw gRPC: the same service and messages, a server that just yields the chunks.
  const rawGrpc = createMtlsServer({
    ...tls,
    routes: (router) =>
      router.service(
        CellService,
        {
          async *connect() {
            for (let seq = 0, offset = 0; offset < bytes; seq++, offset += MiB)
              yield frames.chunk({
                id: 1,
                reply: true,
                seq,
                data: model.subarray(offset, offset + MiB),
                last: offset + MiB >= bytes,
              });
          },
        },
        { readMaxBytes: MAX_FRAME_BYTES, acceptCompression: [] },
      ),
  });
  const rawGrpcPort = await rawGrpc.listen(0, "127.0.0.1");
  // Raw HTTP/2: the bytes as DATA frames, written as fast as the stream drains.
  const rawHttp2 = http2.createSecureServer({
    ...tls,
    requestCert: true,
    rejectUnauthorized: true,
  });
  rawHttp2.on("stream", (stream) => {
    stream.respond({ ":status": 200 });
    let offset = 0;
    const write = () => {
      while (offset < bytes) {
        const part = model.subarray(offset, offset + MiB);
        offset += MiB;
        if (!stream.write(part)) return void stream.once("drain", write);
      }
      stream.end();
    };
    write();
  });
  await new Promise<void>((resolve) => rawHttp2.listen(0, "127.0.0.1", resolve));
  const rawHttp2Port = (rawHttp2.address() as AddressInfo).port;

  const children: ChildProcess[] = [];
  try {
    const online = new Promise<void>((resolve) => {
      const stop = cells.subscribe(() => {
        if (cells.sites().every((s) => s.online)) {
          stop();
          resolve();
        }
      });
    });
    for (const name of ["site-1", "site-2"])
      children.push(
        spawn(
          process.execPath,
          [
            "bin/run-ts.mjs",
            "bench/transport.ts",
            "--site",
            project.siteDirs[name] as string,
            String(cellPort),
          ],
          { stdio: ["ignore", "inherit", "inherit"] },
        ),
      );
    await online;
    const siteNames = ["site-1", "site-2"];
    const timed = async (pull: (site: string) => Promise<number>) => {
      const t = performance.now();
      const received = await Promise.all(siteNames.map(pull));
      const seconds = (performance.now() - t) / 1000;
      if (received.some((n) => n !== bytes))
        throw new Error(`sites received ${received}, not ${bytes}`);
      return (siteNames.length * bytes) / 1e6 / seconds;
    };
    let sitePeakRss = 0;
    const methods = {
      "raw gRPC": (site: string) =>
        cells
          .request(site, "pull-grpc", encode(rawGrpcPort), { timeout: Infinity })
          .then(decode<number>),
      "raw HTTP/2": (site: string) =>
        cells
          .request(site, "pull-http2", encode(rawHttp2Port), { timeout: Infinity })
          .then(decode<number>),
      cells: (site: string) =>
        cells.request(site, "sink", model, { timeout: Infinity }).then((reply) => {
          const { received, peakRss } = decode<{ received: number; peakRss: number }>(reply);
          sitePeakRss = Math.max(sitePeakRss, peakRss);
          return received;
        }),
    };
    const results: Record<string, number[]> = { "raw gRPC": [], "raw HTTP/2": [], cells: [] };
    let cellPeakRss = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [name, pull] of Object.entries(methods)) {
        if (name === "cells") resetPeakRss();
        const mbps = await timed(pull);
        if (name === "cells") cellPeakRss = Math.max(cellPeakRss, peakRss());
        results[name]?.push(mbps);
        console.log(`round ${round + 1}: ${name.padEnd(10)} ${mbps.toFixed(0)} MB/s`);
      }
    }
    const best = (name: string) => Math.max(...(results[name] ?? [0]));
    const ratio = best("cells") / best("raw gRPC");
    console.log(
      `${(bytes / MiB).toFixed(0)} MiB to 2 sites (child processes) over loopback mTLS, best of ${rounds}:`,
    );
    console.log(`  raw HTTP/2 ${best("raw HTTP/2").toFixed(0)} MB/s`);
    console.log(`  raw gRPC   ${best("raw gRPC").toFixed(0)} MB/s`);
    console.log(
      `  cells      ${best("cells").toFixed(0)} MB/s = ${ratio.toFixed(2)} × raw gRPC (goal: at least 0.5)`,
    );
    // Each round's cells against the raw gRPC measured just before it: robust to a busy machine.
    const perRound = (results.cells ?? []).map((mbps, i) => mbps / (results["raw gRPC"]?.[i] ?? 1));
    console.log(`  per round, cells / raw gRPC: ${perRound.map((r) => r.toFixed(2)).join(", ")}`);
    console.log(
      `  server peak RSS during the cell transfer: ${(cellPeakRss / MiB).toFixed(0)} MB (goal: under 2560 MB; the model itself is ${(bytes / MiB).toFixed(0)} MB)`,
    );
    console.log(
      `  a site's peak RSS while reading it chunk by chunk: ${(sitePeakRss / MiB).toFixed(0)} MB`,
    );
    console.log(
      JSON.stringify({
        bench: "transport",
        bytes,
        sites: 2,
        rounds,
        mbps: results,
        ratio,
        perRound,
        serverPeakRssMb: cellPeakRss / MiB,
        sitePeakRssMb: sitePeakRss / MiB,
      }),
    );
  } finally {
    for (const child of children) child.kill("SIGKILL");
    cells.close();
    await cellServer.close();
    await rawGrpc.close();
    rawHttp2.close();
  }
}

/** Resets the kernel's peak RSS (VmHWM) of this process, where Linux allows it. */
function resetPeakRss(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // Not Linux, or not allowed: the peak then covers the whole run.
  }
}

/** Peak resident set size of this process, in bytes (VmHWM, else resourceUsage's maxRSS). */
function peakRss(): number {
  return procStatusBytes("self", "VmHWM") ?? process.resourceUsage().maxRSS * 1024;
}

/** The child: a site that sinks the cell payload, or pulls a raw stream when asked. */
async function site(kitDir: string, cellPort: number): Promise<void> {
  const kit = (await readStartupKit(kitDir)) as SiteKit;
  const options = cellSiteOptionsFromKit(kit);
  const tls = { ca: kit.rootCaPem, cert: kit.certPem, key: kit.keyPem };
  const cell = createCellSite({
    ...options,
    server: { ...options.server, host: "127.0.0.1", port: cellPort },
  });
  cell.handle("sink", async ({ payload }) => {
    resetPeakRss();
    let received = 0;
    for await (const part of payload.chunks()) received += part.byteLength;
    return encode({ received, peakRss: peakRss() });
  });
  cell.handle("pull-grpc", async ({ payload }) => {
    const port = decode<number>(await payload.bytes());
    // The cells' own client stack (transport, HTTP/2 windows), without the cell protocol.
    const connection = connectGrpc(`https://127.0.0.1:${port}`, tls);
    const client = createClient(CellService, connection.transport);
    let n = 0;
    for await (const frame of client.connect((async function* () {})()))
      if (frame.kind.case === "chunk") n += frame.kind.value.data.byteLength;
    connection.close();
    return encode(n);
  });
  cell.handle("pull-http2", async ({ payload }) => {
    const port = decode<number>(await payload.bytes());
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ...tls,
      settings: { initialWindowSize: HTTP2_WINDOW_BYTES },
    });
    session.once("connect", () => session.setLocalWindowSize(HTTP2_WINDOW_BYTES));
    const n = await new Promise<number>((resolve, reject) => {
      let count = 0;
      const stream = session.request({ ":path": "/" });
      stream.on("data", (chunk: Buffer) => {
        count += chunk.byteLength;
      });
      stream.on("end", () => resolve(count));
      stream.on("error", reject);
    });
    session.close();
    return encode(n);
  });
}

const [flag, kitDir, port] = process.argv.slice(2);
if (flag === "--site" && kitDir !== undefined && process.argv[1]?.endsWith("transport.ts"))
  await site(kitDir, Number(port));

/** A Connect gRPC transport with the cells' HTTP/2 windows and frame size. */
function connectGrpc(url: string, tls: { ca: string; cert: string; key: string }) {
  const manager = new Http2SessionManager(
    url,
    {},
    { ...tls, settings: { initialWindowSize: HTTP2_WINDOW_BYTES, maxFrameSize: MiB } },
  );
  return {
    transport: createGrpcTransport({
      baseUrl: url,
      sessionManager: {
        authority: manager.authority,
        async request(method, path, headers, options) {
          const stream = await manager.request(method, path, headers, options);
          stream.session?.setLocalWindowSize(HTTP2_WINDOW_BYTES);
          return stream;
        },
        notifyResponseByteRead: (stream) => manager.notifyResponseByteRead(stream),
      },
      readMaxBytes: MAX_FRAME_BYTES,
      acceptCompression: [],
    }),
    close: () => manager.abort(),
  };
}
