import {
  create,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { INLINE_HEADER } from "../flower-api/superlink/fleet-inline.ts";
import { Fleet } from "../gen/flwr/proto/fleet_pb.ts";
import { type AuthHeaders, createWebAuthSigner, type WebNodeKeys } from "./node-keys.ts";

type FleetMethod = (typeof Fleet)["method"][keyof (typeof Fleet)["method"]] & DescMethod;

export interface CallSettings {
  /** Seconds the SuperLink may take (Connect's timeout header), and the call's own deadline. */
  timeout?: number;
  signal?: AbortSignal;
  /** Ask for fedbridge's inline extension (see fleet-inline.ts). */
  inline?: boolean;
}

/** Connect's error codes by name (its JSON error body names them), as fedbridge's Code. */
const CODES: Record<string, Code> = {
  canceled: Code.Canceled,
  unknown: Code.Unknown,
  invalid_argument: Code.InvalidArgument,
  deadline_exceeded: Code.DeadlineExceeded,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  out_of_range: Code.OutOfRange,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unauthenticated: Code.Unauthenticated,
};

/**
 * A browser node's connection to the SuperLink's Fleet API for browsers (fleet-web.ts): each
 * call one `fetch` in the Connect protocol's unary form (POST, binary protobuf body), signed
 * with the node's WebCrypto key. Failures are FedbridgeErrors with the server's code and
 * message; a SuperLink that cannot be reached (or refuses the page's origin) is Unavailable.
 */
export class FleetFetch {
  readonly #baseUrl: string;
  readonly #sign: () => Promise<AuthHeaders>;
  readonly keys: WebNodeKeys;

  /** `baseUrl`: the SuperLink's `--web-address` as a URL, e.g. `http://127.0.0.1:9095`. */
  constructor(baseUrl: string, keys: WebNodeKeys) {
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
    this.keys = keys;
    this.#sign = createWebAuthSigner(keys);
  }

  async call<M extends FleetMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    settings: CallSettings = {},
    keepalive = false,
  ): Promise<MessageShape<M["output"]>> {
    const headers: Record<string, string> = {
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      ...(await this.#sign()),
    };
    if (settings.inline) headers[INLINE_HEADER] = "1";
    const signals = settings.signal ? [settings.signal] : [];
    if (settings.timeout !== undefined) {
      headers["connect-timeout-ms"] = String(Math.round(settings.timeout * 1000));
      signals.push(AbortSignal.timeout(settings.timeout * 1000 + 5000));
    }
    const body = toBinary(method.input, create(method.input, request));
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}/${Fleet.typeName}/${method.name}`, {
        method: "POST",
        headers,
        body,
        keepalive,
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (cause) {
      if (settings.signal?.aborted) throw new FedbridgeError(Code.Canceled, "call cancelled");
      throw new FedbridgeError(
        Code.Unavailable,
        `cannot reach the SuperLink at ${this.#baseUrl} (${FedbridgeError.from(cause).message}; is this page's origin allowed by its --web-origin?)`,
      );
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.ok) return fromBinary(method.output, bytes) as MessageShape<M["output"]>;
    throw errorOf(response.status, bytes, method.name);
  }
}

/** A Connect error body (`{"code": "unauthenticated", "message": ...}`) as a FedbridgeError. */
function errorOf(status: number, bytes: Uint8Array, methodName: string): FedbridgeError {
  const text = new TextDecoder().decode(bytes);
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === "string") {
      const code = CODES[parsed.code] ?? Code.Unknown;
      return new FedbridgeError(code, String(parsed.message ?? parsed.code));
    }
  } catch {}
  const code = status === 403 ? Code.PermissionDenied : Code.Unavailable;
  return new FedbridgeError(code, `${methodName}: HTTP ${status} ${text.slice(0, 200)}`);
}
