/**
 * The closed set of error codes, gRPC's, so an error keeps its meaning when it crosses a
 * process or a network boundary.
 */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/**
 * fedbridge's one error class. Every catch that reports to a user goes through
 * `FedbridgeError.from`, so what reaches a terminal or a log always has a code and a
 * message that names what is wrong.
 */
export class FedbridgeError extends Error {
  override name = "FedbridgeError";

  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Wraps anything thrown; a FedbridgeError passes through unchanged. */
  static from(reason: unknown, code: Code = Code.Unknown): FedbridgeError {
    if (reason instanceof FedbridgeError) return reason;
    if (reason instanceof Error) return new FedbridgeError(code, reason.message, { cause: reason });
    return new FedbridgeError(code, String(reason), { cause: reason });
  }

  /** The code's name and the message, e.g. `[invalid_argument] bad --run-config`. */
  override toString(): string {
    return `[${codeName(this.code)}] ${this.message}`;
  }
}

/** `Code.InvalidArgument` → `invalid_argument`, gRPC's spelling. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());
}
