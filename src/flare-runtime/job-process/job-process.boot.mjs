// Entry of a job process: make TypeScript importable, then run the job process.
import "../../../bin/register.mjs";

await import("./job-process.ts");
