// fedbridge runtime, cells: the mTLS transport between the server and its sites (one
// bidirectional stream per site, opened by the site), with heartbeats, reconnection, reliable
// request/reply and chunked payloads under flow control.
export type { BackoffOptions } from "../../core/backoff.ts";
export { backoffDelay } from "../../core/backoff.ts";
export type { CellLogEvent, CellLogger, RefusalStage } from "./cell-logger.ts";
export { pinoCellLogger, silentCellLogger } from "./cell-logger.ts";
export type { CellOptions } from "./cell-options.ts";
export {
  CELL_DEFAULTS,
  HTTP2_WINDOW_BYTES,
  MAX_CHUNK_SIZE,
  MAX_FRAME_BYTES,
} from "./cell-options.ts";
export type { CellServer, CellServerOptions } from "./cell-server.ts";
export { createCellServer } from "./cell-server.ts";
export type { StreamRoutes } from "./cell-service.ts";
export { cellRoutes } from "./cell-service.ts";
export type { CellSite, CellSiteOptions, SiteConnectionEvent } from "./cell-site.ts";
export { cellSiteOptionsFromKit, createCellSite } from "./cell-site.ts";
export { type Payload, sizedStream } from "./chunk-sender.ts";
export { CELL_PROTOCOL_VERSION } from "./frames.ts";
export { SILENCE_INTERVALS } from "./heartbeat.ts";
export type { IncomingPayload } from "./incoming-payload.ts";
export type { CellHandler, CellRequest } from "./incoming-requests.ts";
export type { MtlsServer, MtlsServerOptions } from "./mtls-server.ts";
export { createMtlsServer } from "./mtls-server.ts";
export type { RequestOptions } from "./outgoing-requests.ts";
export type { AuthorizePeerOptions, PeerIdentity } from "./peer-identity.ts";
export {
  authorizePeer,
  mtlsContextValues,
  peerIdentityKey,
  peerIdentityOf,
} from "./peer-identity.ts";
export type { SiteEvent, SiteStatus } from "./site-registry.ts";
export type { CellConnection } from "./site-transport.ts";
export { connectCell } from "./site-transport.ts";
