/**
 * fedbridge's extension of the Fleet API, negotiated per call by this request header: a
 * message up to INLINE_MAX_BYTES travels with its records in PullMessages / PushMessages, so
 * no PushObject or PullObject calls are needed. The message id still addresses the content,
 * so each side checks it; Flower's nodes never send the header and see the standard protocol.
 */
export const INLINE_HEADER = "fedbridge-inline";
export const INLINE_MAX_BYTES = 1 << 20;
