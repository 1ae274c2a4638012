// The browser build's core/numeric/privacy-random.ts: its AES-256-CTR keystream needs
// node:crypto's synchronous cipher, which WebCrypto (async only) lacks.
import type { PrivacyRandom } from "../../core/numeric/privacy-random.ts";
import { notInBrowser } from "./not-in-browser.ts";

export type { PrivacyRandom } from "../../core/numeric/privacy-random.ts";

const WHY = "privacy noise needs a synchronous AES-CTR keystream";

export function createPrivacyRandom(
  ..._parts: readonly (string | number | boolean | null | undefined)[]
): PrivacyRandom {
  throw notInBrowser("differential-privacy noise", WHY);
}

export function createSecureRandom(): PrivacyRandom {
  throw notInBrowser("differential-privacy noise", WHY);
}
