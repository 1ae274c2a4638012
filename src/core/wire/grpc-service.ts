import type {
  DescMessage,
  DescMethod,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { create, fromBinary } from "@bufbuild/protobuf";
import type {
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { Metadata, type status } from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { checkDecodeCost } from "./decode-cost.ts";
import { encodeMessage } from "./proto-encode.ts";

/**
 * grpc-js services from protobuf-es descriptors. Requests arrive as raw bytes and are
 * decoded inside the handler, so garbage bytes become INVALID_ARGUMENT with a message
 * naming the method, and every thrown error reaches the caller as a gRPC status whose code
 * is the FedbridgeError's (our codes are gRPC's). The server never crashes on input.
 */

const identity = (bytes: Buffer) => bytes;

/** A grpc-js service definition that moves raw bytes for every method of `service`. */
export function rawServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, ServiceDefinition[string]> = {};
  for (const method of service.methods) {
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream:
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream:
        method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method.localName,
    };
  }
  return definition as ServiceDefinition;
}

/** Context a handler gets: the call's metadata and a signal aborted when the caller goes away. */
export interface CallContext {
  metadata: Metadata;
  signal: AbortSignal;
}

export type UnaryHandler<M extends DescMethod> = (
  request: MessageShape<M["input"]>,
  context: CallContext,
) => Promise<MessageInitShape<M["output"]>> | MessageInitShape<M["output"]>;

/** A response's encoding: one array, or pieces written one after the other (none copied). */
export type EncodedResponse = Uint8Array | readonly Uint8Array[];

/** A unary method over raw bytes: the request's message in, the response's encoding out. */
export type RawUnaryHandler = (
  request: Uint8Array,
  context: CallContext,
) => Promise<EncodedResponse>;

/**
 * A typed handler over raw bytes: the request decoded at a bounded cost (garbage becomes
 * INVALID_ARGUMENT naming the method), the response encoded; what it throws goes to the caller
 * as a status.
 */
export function rawUnary<M extends DescMethod>(
  method: M,
  handler: UnaryHandler<M>,
): (request: Uint8Array, context: CallContext) => Promise<Uint8Array> {
  return async (bytes, context) => {
    const request = decodeRequest(method.input, bytes, method.name);
    const response = await handler(request as MessageShape<M["input"]>, context);
    return encodeMessage(
      method.output,
      create(method.output, response) as MessageShape<M["output"]>,
    );
  };
}

/**
 * The routes of `service` (method path → raw handler) for `startGrpcHttp2Server`, from typed
 * handlers keyed by each method's local name (`registerNode`). A method without a handler is
 * not served (UNIMPLEMENTED).
 */
export function unaryRoutes<S extends DescService>(
  service: S,
  handlers: { [K in keyof S["method"]]?: UnaryHandler<S["method"][K]> },
): Map<string, RawUnaryHandler> {
  const routes = new Map<string, RawUnaryHandler>();
  for (const method of service.methods) {
    const handler = handlers[method.localName as keyof S["method"]];
    if (handler !== undefined)
      routes.set(
        `/${service.typeName}/${method.name}`,
        rawUnary(method, handler as UnaryHandler<typeof method>),
      );
  }
  return routes;
}

/** Wraps a typed handler as a grpc-js unary handler over raw bytes. */
export function unaryHandler<M extends DescMethod>(method: M, handler: UnaryHandler<M>) {
  const raw = rawUnary(method, handler);
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    const controller = new AbortController();
    // grpc-js reports "cancelled" after every call's trailers too: aborting then would cost
    // a DOMException per call (2 of a SuperLink's 27 busy CPU seconds in bench nodes).
    let answered = false;
    call.on("cancelled", () => {
      if (!answered) controller.abort();
    });
    raw(call.request, { metadata: call.metadata, signal: controller.signal }).then(
      (response) => {
        answered = true;
        callback(null, asBuffer(response));
      },
      (error) => {
        answered = true;
        callback(toGrpcError(error));
      },
    );
  };
}

export type StreamHandler<M extends DescMethod> = (
  request: MessageShape<M["input"]>,
  /** Resolves once the stream can take more (or the caller went away): await it to not pile up. */
  send: (response: MessageInitShape<M["output"]>) => Promise<void>,
  context: CallContext,
) => Promise<void>;

/** Wraps a typed server-streaming handler. */
export function serverStreamHandler<M extends DescMethod>(method: M, handler: StreamHandler<M>) {
  return (call: ServerWritableStream<Buffer, Buffer>) => {
    const controller = new AbortController();
    let ended = false; // as in unaryHandler: "cancelled" comes after a normal end too
    call.on("cancelled", () => {
      if (!ended) controller.abort();
    });
    void (async () => {
      try {
        const request = decodeRequest(method.input, call.request, method.name);
        const send = (response: MessageInitShape<M["output"]>) =>
          call.write(encodeResponse(method, response))
            ? Promise.resolve()
            : drained(call, controller.signal);
        await handler(request as MessageShape<M["input"]>, send, {
          metadata: call.metadata,
          signal: controller.signal,
        });
        ended = true;
        call.end();
      } catch (error) {
        ended = true;
        call.emit("error", toGrpcError(error));
      }
    })();
  };
}

/** Resolves when `call` drained its writes, or when `signal` aborts. */
function drained(call: ServerWritableStream<Buffer, Buffer>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A grpc-js service implementation from handlers keyed by method name. */
export function implementation(handlers: Record<string, unknown>): UntypedServiceImplementation {
  return handlers as UntypedServiceImplementation;
}

function encodeResponse<M extends DescMethod>(
  method: M,
  response: MessageInitShape<M["output"]>,
): Buffer {
  const message = create(method.output, response) as MessageShape<M["output"]>;
  return asBuffer(encodeMessage(method.output, message));
}

/**
 * Decodes a request from untrusted bytes at a bounded cost: the heap its objects would take is
 * estimated from the wire first (`checkDecodeCost`), and unknown fields are dropped, not kept
 * (protobuf-es keeps each as a view of its bytes: 9 bytes of fixed64 became 150 of heap).
 */
export function decodeRequest<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  methodName: string,
): MessageShape<Desc> {
  try {
    checkDecodeCost(schema, bytes);
    // Decoded in place: grpc-js gives each received message a buffer of its own, never reused
    // (grpc-service.test.ts), and so does our own server, so `bytes` fields may be views of it.
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch (cause) {
    if (cause instanceof FedbridgeError)
      throw new FedbridgeError(cause.code, `${methodName}: ${cause.message}`);
    throw new FedbridgeError(
      Code.InvalidArgument,
      `${methodName}: the request is not a valid ${schema.typeName} (${FedbridgeError.from(cause).message})`,
    );
  }
}

/**
 * Encoded bytes as the Buffer grpc-js wants, without a copy (`Buffer.from(bytes)` would copy,
 * a megabyte object's worth for every message): the bytes are the encoder's own, never reused.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A FedbridgeError (or anything thrown) as a grpc-js service error. */
export function toGrpcError(
  error: unknown,
): Error & { code: status; details: string; metadata: Metadata } {
  const failure = FedbridgeError.from(error, Code.Internal);
  const code = failure.code as number as status;
  return Object.assign(new Error(failure.message), {
    code,
    details: failure.message,
    metadata: new Metadata(),
  });
}
