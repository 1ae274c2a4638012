// Apart from grpc-messages.ts (Node only) because the browser's node checks it too.

/**
 * Spare bytes after a message gathered from several pieces, in the buffer of its own it is
 * gathered into: room for its reader to move the message up to 7 bytes along, so that values it
 * carries start aligned for a typed array (see alignArrayChunk).
 */
export const GATHERED_SLACK_BYTES = 8;
