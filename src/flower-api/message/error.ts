/** Flower 1.28's error codes for a message's MessageError (flwr.common.constant.ErrorCode). */
export const ErrorCode = {
  UNKNOWN: 0,
  LOAD_CLIENT_APP_EXCEPTION: 1,
  CLIENT_APP_RAISED_EXCEPTION: 2,
  MESSAGE_UNAVAILABLE: 3,
  REPLY_MESSAGE_UNAVAILABLE: 4,
  NODE_UNAVAILABLE: 5,
  MOD_FAILED_PRECONDITION: 6,
  INVALID_FAB: 7,
  CLIENT_APP_CRASHED: 8,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The error a reply carries instead of content, as Flower 1.28's `Error`: a code and a
 * reason. A value object, not a thrown exception.
 */
export class MessageError {
  constructor(
    readonly code: number,
    readonly reason = "",
  ) {}

  /** The code's name, e.g. `NODE_UNAVAILABLE`, or the number when it is not Flower's. */
  get codeName(): string {
    return (
      Object.entries(ErrorCode).find(([, value]) => value === this.code)?.[0] ?? String(this.code)
    );
  }

  toString(): string {
    return `${this.codeName}: ${this.reason}`;
  }
}
