// The browser build's flower-api/app/load-app.ts: a page's app is bundled in by
// `fedbridge web-node`, not read from a folder.
import type { AppManifest } from "../../flower-api/app/load-app.ts";
import { notInBrowser } from "./not-in-browser.ts";

export type { AppManifest } from "../../flower-api/app/load-app.ts";

const WHY = "a page's app is bundled in by `fedbridge web-node`";

export async function readAppManifest(_appDir: string): Promise<AppManifest> {
  throw notInBrowser("readAppManifest", WHY);
}

export async function importApp<T>(_url: string, _type: unknown, _what: string): Promise<T> {
  throw notInBrowser("importApp", WHY);
}
