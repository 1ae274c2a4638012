// `fedbridge/privacy`: differential privacy (flwr.serverapp.strategy's DP wrappers, the
// clipping mods, local DP, the RDP accountant) and SecAgg+.

export { SecAggPlusGrid } from "../secagg/secagg-plus-grid.ts";
export { secaggPlusMod } from "../secagg/secagg-plus-mod.ts";
export type { SecAggPlusOptions } from "../secagg/secagg-plus-options.ts";
export { adaptiveClippingMod, fixedClippingMod } from "./centraldp-mods.ts";
export type { AdaptiveNoiseParams, FloatArray } from "./differential-privacy.ts";
export {
  addGaussianNoiseInplace,
  clipInputsInplace,
  computeAdaptiveNoiseParams,
  computeClipModelUpdate,
  computeStdv,
  getNorm,
  KEY_CLIPPING_NORM,
  KEY_NORM_BIT,
  localDpStdDev,
} from "./differential-privacy.ts";
export type { DifferentialPrivacyAdaptiveClippingOptions } from "./dp-adaptive-clipping.ts";
export {
  DifferentialPrivacyClientSideAdaptiveClipping,
  DifferentialPrivacyServerSideAdaptiveClipping,
} from "./dp-adaptive-clipping.ts";
export type { DifferentialPrivacyFixedClippingOptions } from "./dp-fixed-clipping.ts";
export {
  DifferentialPrivacyClientSideFixedClipping,
  DifferentialPrivacyServerSideFixedClipping,
} from "./dp-fixed-clipping.ts";
export type { ClippedReplies, PrivacyReportOptions, ScalarWriter } from "./dp-strategy.ts";
export { DifferentialPrivacyStrategy } from "./dp-strategy.ts";
export { LocalDpMod } from "./local-dp-mod.ts";
export type { PrivacySpent, RdpAccountant } from "./rdp-accountant.ts";
export {
  computeRdp,
  createRdpAccountant,
  DEFAULT_RDP_ORDERS,
  getPrivacySpent,
} from "./rdp-accountant.ts";
