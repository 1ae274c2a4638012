// Types of malloc-tuning.mjs (plain JavaScript, so that the bin can use it before TypeScript).

/** glibc's malloc settings for our processes (see malloc-tuning.mjs). */
export declare const MALLOC_TUNABLES: string;

/** `env` for a process of ours: MALLOC_TUNABLES first, then any tunables already in `env`. */
export declare function withMallocTuning(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

/** Whether a process with `env` (default: this one's) is tuned. */
export declare function mallocTuned(env?: NodeJS.ProcessEnv): boolean;
