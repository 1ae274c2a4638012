// The browser build's flower-api/secagg/secagg-plus-mod.ts: SecAgg+ uses node:crypto's
// ECDH, AES-GCM and AES-CTR synchronously.
import type { Mod } from "../../flower-api/app/mod.ts";
import { notInBrowser } from "./not-in-browser.ts";

export const secaggPlusMod: Mod = () => {
  throw notInBrowser("SecAgg+", "its key agreement and masks need node:crypto");
};
