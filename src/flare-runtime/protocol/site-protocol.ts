import { z } from "zod";
import { FedbridgeError } from "../../core/fedbridge-error.ts";
import { parseOrRefuse } from "../../core/parse-or-refuse.ts";
import type { Payload } from "../job-process/job-runner.ts";
import { checkJobId } from "../jobs/job-id.ts";
import { decodePayload, encodePayload } from "./payload-codec.ts";

/**
 * The server ↔ site protocol: each cell topic with the shape of its payload, checked on
 * arrival. The server, a site parent and the bridge's shim all speak it through here, so a
 * change of shape is one change, and a peer on an older shape is refused with a reason.
 * Payloads travel V8-serialized (typed arrays as they are); `task` is a stream of its own
 * (task-frame.ts).
 */

const jobId = z.string().transform((id, ctx) => {
  try {
    return checkJobId(id);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: FedbridgeError.from(error).message });
    return z.NEVER;
  }
});
const jobConfig = z.record(z.string(), z.unknown());

/** Whether a value is a job's payload: JSON values and bytes, nested. */
function isPayload(value: unknown): value is Payload {
  if (value === null || value instanceof Uint8Array) return true;
  if (["string", "number", "boolean"].includes(typeof value)) return true;
  if (Array.isArray(value)) return value.every(isPayload);
  if (typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value as object).every(isPayload);
}
/** A tracking event: a plain object, checked field by field where it is stored. */
const trackingEvent = z.custom<object>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "not a tracking event (an object)",
);
const payload = z.custom<Payload>(isPayload, "not a job payload (JSON values and bytes)");

export const SITE_TOPICS = {
  /** Server → site: run this job (its signed bundle, config and every site of it). */
  deploy: z.strictObject({
    jobId,
    bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, "not bytes"),
    sha256: z.string(),
    signature: z.string(),
    submitterCertPem: z.string(),
    config: jobConfig,
    sites: z.array(z.string()).min(1),
  }),
  /** Server → site: the job has ended; stop its part here. */
  stop: z.strictObject({ jobId }),
  /**
   * Server → site, whenever the site (re)connects: the jobs the server runs with this site;
   * the site stops any other it still runs.
   */
  reconcile: z.strictObject({ jobIds: z.array(jobId) }),
  /** Server → site: a small request of a job's server part to its part at this site. */
  job: z.strictObject({ jobId, topic: z.string().min(1), payload }),
  /** Site → server: what the site offers jobs (its resources.json). */
  "site-info": z.strictObject({
    resources: z.looseObject({ gpus: z.number(), memoryGb: z.number(), maxJobs: z.number() }),
  }),
  /** Site → server: tracking events of a job's part at the site. */
  tracking: z.strictObject({ jobId, events: z.array(trackingEvent) }),
} as const;

export type SiteTopic = keyof typeof SITE_TOPICS;
export type SiteMessage<T extends SiteTopic> = z.output<(typeof SITE_TOPICS)[T]>;

/** A topic's payload as bytes, checked first: a sender's mistake shows where it is made. */
export function encodeSiteMessage<T extends SiteTopic>(
  topic: T,
  message: z.input<(typeof SITE_TOPICS)[T]>,
): Uint8Array {
  SITE_TOPICS[topic].parse(message);
  return encodePayload(message);
}

/** A topic's payload, checked against its shape: a bad one is refused, naming the field. */
export function decodeSiteMessage<T extends SiteTopic>(
  topic: T,
  bytes: Uint8Array,
): SiteMessage<T> {
  const payload = decodePayload(bytes, `${topic} message`);
  return parseOrRefuse(SITE_TOPICS[topic], payload, `malformed ${topic} message`) as SiteMessage<T>;
}
