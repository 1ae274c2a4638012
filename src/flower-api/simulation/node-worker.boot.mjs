// Entry of a simulation worker thread: make TypeScript importable, then run the worker.
import "../../../bin/register.mjs";

await import("./node-worker.ts");
