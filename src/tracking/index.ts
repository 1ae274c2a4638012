// fedbridge/tracking: experiment tracking. A SummaryWriter (PyTorch's API) sends checked
// tracking events to sinks: TensorBoard event files (written and read here, without
// TensorFlow), the SQLite tracking store, or the runtime's stream to the server.
export type {
  EventFileContents,
  HistogramPoint,
  ScalarPoint,
  TextPoint,
} from "./event-file-reader.ts";
export { readEventFile, readEventFiles } from "./event-file-reader.ts";
export type { EventFileWriter, EventFileWriterOptions } from "./event-file-writer.ts";
export { createEventFileWriter, FILE_VERSION } from "./event-file-writer.ts";
export { createForwardSink } from "./forward-sink.ts";
export type { HistogramBins } from "./histogram.ts";
export { makeHistogram } from "./histogram.ts";
export type { JobTracking } from "./job-tracking.ts";
export { createJobTracking } from "./job-tracking.ts";
export { createStoreSink } from "./store-sink.ts";
export type { SummaryWriterOptions } from "./summary-writer.ts";
export { SummaryWriter, setHostTrackingSink } from "./summary-writer.ts";
export { fromTensorBoardEvent, toTensorBoardEvent } from "./tensorboard-event.ts";
export {
  checkSiteName,
  createEventFileSink,
  createTensorBoardSink,
  SERVER_RUN,
} from "./tensorboard-sink.ts";
export type { ReadRecordsOptions, TfRecord } from "./tfrecord.ts";
export { encodeRecord, readRecords } from "./tfrecord.ts";
export type {
  Histogram,
  HistogramEvent,
  ScalarEvent,
  TextEvent,
  TrackingEvent,
} from "./tracking-event.ts";
export { checkTag, checkTrackingEvent, MAX_TAG_LENGTH } from "./tracking-event.ts";
export type { TrackingSink } from "./tracking-sink.ts";
export { fanOut } from "./tracking-sink.ts";
export type { JobScalarEvent, StoredScalar, TrackingStoreOptions } from "./tracking-store.ts";
export {
  TRACKING_STORE_FILE,
  TrackingStore,
  trackingStorePath,
} from "./tracking-store.ts";
