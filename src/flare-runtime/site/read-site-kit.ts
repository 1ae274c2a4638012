import { join } from "node:path";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { checkPrivacyPolicy } from "../filters/filter-chain.ts";
import { KIT_FILES } from "../provision/kit-config.ts";
import { type LoadedStartupKit, readStartupKit } from "../provision/read-startup-kit.ts";

/** A site's startup kit. */
export type SiteKit = Extract<LoadedStartupKit, { type: "client" }>;

/**
 * Reads a site's kit, for whatever serves as the site (its parent, or the Fleet API shim): it
 * must be a client kit, and a privacy.json with an unknown filter or bad arguments stops the
 * site here, with one line naming the file and the fault.
 */
export async function readSiteKit(kitDir: string): Promise<SiteKit> {
  const kit = await readStartupKit(kitDir);
  if (kit.type !== "client")
    throw new FedbridgeError(Code.InvalidArgument, `${kitDir} is a ${kit.type} kit, not a site's`);
  checkPrivacyPolicy(kit.privacy, join(kit.dir, KIT_FILES.privacy));
  return kit;
}
