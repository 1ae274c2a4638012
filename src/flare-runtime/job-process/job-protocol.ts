import type { NodeConfigValue, PrivacyPolicy } from "../provision/kit-config.ts";
import type { Payload, TaskMeta } from "./job-runner.ts";

/** Messages between a parent process (server or site) and one of its job processes, over IPC. */

export interface JobStart {
  type: "start";
  role: "server" | "site";
  jobId: string;
  /** file: URL of the runner module (it exports `runner`). */
  runnerUrl: string;
  config: Record<string, unknown>;
  dir: string;
  workspace: string;
  /** Server role: the job's sites. Site role: this site's name, then every site of the job. */
  sites: string[];
  /** Server role, after a restart: the checkpoint to resume from (a file the job wrote). */
  resume?: { round: number; file: string };
  /** Site role: the site's privacy.json. */
  privacy?: PrivacyPolicy;
  /** Site role: the site's node-config.json. */
  nodeConfig?: Record<string, NodeConfigValue>;
}

/** A site's reply to a multicast: a small one whole, a larger one in the file it waits in. */
export type MulticastReply =
  | ({ type: "multicast-reply"; id: number; site: string; ok: true } & (
      | { file: string }
      | { bytes: Uint8Array }
    ))
  | { type: "multicast-reply"; id: number; site: string; ok: false; code: number; message: string };

export type ToJob =
  | JobStart
  | { type: "request"; id: number; topic: string; payload: Payload }
  /**
   * Site role: a task, its bytes (`size` of them if known) following on the data channel under
   * the same id. An OK reply says its result follows there too.
   */
  | { type: "task"; id: number; topic: string; size?: number; siteMeta?: TaskMeta }
  | { type: "reply"; id: number; ok: true; payload: Payload }
  | { type: "reply"; id: number; ok: false; code: number; message: string }
  /** Sites' replies that came in one turn of the parent's loop: one IPC message, not 1,000. */
  | { type: "multicast-replies"; replies: MulticastReply[] }
  | { type: "multicast-done"; id: number }
  | { type: "abort" };

export type FromJob =
  | { type: "request"; id: number; site: string; topic: string; payload: Payload; timeout?: number }
  | { type: "reply"; id: number; ok: true; payload: Payload }
  | { type: "reply"; id: number; ok: false; code: number; message: string }
  /**
   * One payload (in `file`) for many sites: the parent streams it to each and writes each
   * reply to a file of its own, so large models never cross IPC. Timeout in seconds.
   */
  | {
      type: "multicast";
      id: number;
      sites: string[];
      topic: string;
      file: string;
      timeout?: number;
      /** Each site's idempotency key (Task.keys). */
      keys?: Record<string, string>;
      /** Each site's own meta entries (Task.siteMeta). */
      siteMeta?: Record<string, TaskMeta>;
    }
  /** The job saved its state after `round` in `file`: a restarted server resumes from it. */
  | { type: "checkpoint"; round: number; file: string }
  | { type: "round"; round: number; metrics?: Record<string, number> }
  | { type: "result"; result: Record<string, unknown> }
  | { type: "log"; line: string }
  | { type: "tracking"; events: object[] }
  | { type: "done" }
  | { type: "failed"; reason: string };
