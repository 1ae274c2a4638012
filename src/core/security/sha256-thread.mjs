// A thread that hashes shared bytes for sha256-aside.ts: { id, bytes } in, { id, hex } out.
// Plain JavaScript, so it starts without the TypeScript hook.
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort } from "node:worker_threads";

// The views this thread was sent hold their shared memory (a node's model) until a collection
// here frees them, and this thread allocates too little to start one by itself.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

parentPort.on("message", ({ id, bytes }) => {
  const hex = createHash("sha256").update(bytes).digest("hex");
  parentPort.postMessage({ id, hex });
  gc({ type: "minor" });
});
