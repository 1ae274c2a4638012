/**
 * The physical limit of a round, measured on this machine now: the same bytes a federated
 * round moves — a model out to N processes, every value changed there, and back — over
 * loopback TCP with no framework at all (a length prefix and the bytes). A data-plane
 * benchmark divides its round time by this to say how far from the machine's own speed it is,
 * whatever else the machine is doing at the time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { median } from "../../src/flower-api/strategy/float-arrays.ts";

/** A node: reads a length and that many bytes, adds 1 to each float32, sends them back. */
const NODE = `
const net = require("node:net");
const socket = net.connect(Number(process.argv[1]), "127.0.0.1");
let want = -1, got = 0, buffer;
socket.on("data", (chunk) => {
  let offset = 0;
  if (want < 0) { want = chunk.readUInt32LE(0) * 4; buffer = Buffer.allocUnsafe(want); offset = 4; }
  got += chunk.copy(buffer, got, offset);
  if (got < want) return;
  const values = new Float32Array(buffer.buffer, buffer.byteOffset, want / 4);
  for (let i = 0; i < values.length; i++) values[i] += 1;
  socket.write(buffer, () => socket.end());
});
`;

export interface LimitOptions {
  /** float32 values of the model. */
  values: number;
  /** Processes it goes to and comes back from. */
  nodes: number;
  /** Rounds measured; the median is kept. Default: 3. */
  repeats?: number;
}

/** Seconds the bare machine takes for one round of `values` float32 to `nodes` processes. */
export async function physicalLimit(options: LimitOptions): Promise<number> {
  const model = new Float32Array(options.values).fill(0.5);
  const times: number[] = [];
  for (let r = 0; r < (options.repeats ?? 3); r++) times.push(await oneRound(model, options.nodes));
  return median(times);
}

async function oneRound(model: Float32Array, nodes: number): Promise<number> {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(model.length);
  const body = Buffer.from(model.buffer, model.byteOffset, model.byteLength);
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const children: ChildProcess[] = [];
  const connected: Socket[] = [];
  const allConnected = new Promise<void>((resolve) =>
    server.on("connection", (socket) => {
      connected.push(socket);
      if (connected.length === nodes) resolve();
    }),
  );
  for (let i = 0; i < nodes; i++)
    children.push(spawn(process.execPath, ["-e", NODE, String(port)], { stdio: "ignore" }));
  await allConnected;
  const started = performance.now();
  await Promise.all(
    connected.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          let back = 0;
          socket.on("data", (chunk: Buffer) => {
            back += chunk.length;
          });
          socket.on("end", () =>
            back === body.length
              ? resolve()
              : reject(new Error(`got ${back} of ${body.length} bytes back`)),
          );
          socket.write(header);
          socket.write(body);
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const child of children) child.kill();
  server.close();
  return seconds;
}
