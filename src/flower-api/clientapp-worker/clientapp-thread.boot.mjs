// Entry of a ClientApp thread: make TypeScript importable, then run the thread.
import "../../../bin/register.mjs";

await import("./clientapp-thread.ts");
