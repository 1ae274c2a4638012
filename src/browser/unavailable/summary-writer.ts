// The browser build's tracking/summary-writer.ts: event files need node:fs, and a page's
// node does not forward tracking events (yet).
import type { TrackingSink } from "../../tracking/tracking-sink.ts";
import { notInBrowser } from "./not-in-browser.ts";

export type { SummaryWriterOptions } from "../../tracking/summary-writer.ts";

const WHY = "tracking from a page is not forwarded to the SuperLink";

export function setHostTrackingSink(_sink: TrackingSink | undefined, _stamp: object = {}): void {
  throw notInBrowser("SummaryWriter", WHY);
}

export class SummaryWriter {
  constructor(_options: unknown = {}) {
    throw notInBrowser("SummaryWriter", WHY);
  }
}
