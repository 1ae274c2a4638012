import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";

/**
 * The error a browser node gives for a feature the browser build leaves out (see
 * browser-substitutes.ts): the app fails with this reason (an error reply for its round),
 * never with a missing module.
 */
export function notInBrowser(feature: string, why: string): FedbridgeError {
  return new FedbridgeError(
    Code.Unimplemented,
    `${feature} is not available in a browser node (${why}); run this app on Node SuperNodes`,
  );
}
