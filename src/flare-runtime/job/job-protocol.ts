import type { Payload } from "./job-runner.ts";

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
}

export type ToJob =
  | JobStart
  | { type: "request"; id: number; topic: string; payload: Payload }
  | { type: "reply"; id: number; ok: true; payload: Payload }
  | { type: "reply"; id: number; ok: false; code: number; message: string }
  | { type: "abort" };

export type FromJob =
  | { type: "request"; id: number; site: string; topic: string; payload: Payload; timeout?: number }
  | { type: "reply"; id: number; ok: true; payload: Payload }
  | { type: "reply"; id: number; ok: false; code: number; message: string }
  | { type: "round"; round: number; metrics?: Record<string, number> }
  | { type: "result"; result: Record<string, unknown> }
  | { type: "log"; line: string }
  | { type: "tracking"; events: object[] }
  | { type: "done" }
  | { type: "failed"; reason: string };
