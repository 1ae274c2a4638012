/**
 * How big one request to a SuperLink (or a bridge's Fleet API) may be, sized to what the
 * protocols carry, so one request cannot cost the server more than that before anyone knows who
 * sent it. Flower itself allows 2 GiB − 1 each way; its own traffic never comes near that.
 */
import { DEFAULT_MAX_BUNDLE_BYTES } from "../../core/folder-bundle.ts";

/**
 * Largest Fleet API request: 32 MiB. A PushObject carries one object, and arrays travel in
 * chunks of 5 MiB (Flower's and ours); the rest is headroom for an unchunked record (a big
 * ConfigRecord), a node that raised its chunk size, and the object tree of a very large model
 * in PushMessages (about 70 bytes per object).
 */
export const FLEET_MAX_REQUEST_BYTES = 32 * 2 ** 20;

/** Largest control API request: StartRun's app bundle at its limit, plus its run config. */
export const CONTROL_MAX_REQUEST_BYTES = DEFAULT_MAX_BUNDLE_BYTES + 2 ** 20;
