import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { Code, FedbridgeError } from "../fedbridge-error.ts";
import { asBuffer } from "./grpc-service.ts";
import { encodeMessage } from "./proto-encode.ts";

/**
 * Channel options for large messages: Flower allows 2 GiB − 1 each way. HTTP/2's default window
 * of 64 KiB let a run's 1 GB final model come at 250 MB/s over loopback, each 64 KiB waiting
 * for the window to reopen; 16 MiB lets it flow.
 */
export const LARGE_MESSAGE_OPTIONS = {
  "grpc.max_send_message_length": 2_147_483_647,
  "grpc.max_receive_message_length": 2_147_483_647,
  "grpc-node.flow_control_window": 16 * 2 ** 20,
};

export interface CallSettings {
  /** Metadata to send, made fresh for each call (e.g. signed headers). */
  metadata?: Metadata;
  /** Seconds before the call fails with DEADLINE_EXCEEDED. Default: none. */
  timeout?: number;
  /** Cancels the call (it then fails with CANCELLED). */
  signal?: AbortSignal;
}

/**
 * A typed gRPC client over a protobuf-es service descriptor: encode, call, decode. Failures
 * become FedbridgeErrors with the status's code and message.
 */
export class GrpcClient<S extends DescService> {
  readonly #client: Client;

  /** `options`: grpc-js channel options over LARGE_MESSAGE_OPTIONS. Default: none. */
  constructor(
    readonly service: S,
    address: string,
    credentials: ChannelCredentials,
    options: ChannelOptions = {},
  ) {
    this.#client = new Client(address, credentials, { ...LARGE_MESSAGE_OPTIONS, ...options });
  }

  unary<M extends S["method"][keyof S["method"]] & DescMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    settings: CallSettings = {},
  ): Promise<MessageShape<M["output"]>> {
    const bytes = asBuffer(encodeMessage(method.input, create(method.input, request)));
    return new Promise((resolve, reject) => {
      const cancel = () => call.cancel();
      const call = this.#client.makeUnaryRequest(
        this.#path(method),
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        settings.metadata ?? new Metadata(),
        callOptions(settings),
        (error: ServiceError | null, response?: Buffer) => {
          settings.signal?.removeEventListener("abort", cancel);
          // Decoded in place: grpc-js gives each received message a buffer of its own.
          if (error) reject(fromServiceError(error, method.name));
          else
            resolve(
              fromBinary(method.output, response ?? Buffer.alloc(0)) as MessageShape<M["output"]>,
            );
        },
      );
      settings.signal?.addEventListener("abort", cancel, { once: true });
      if (settings.signal?.aborted) call.cancel();
    });
  }

  /** A server-streaming call as an async iterable of responses. */
  async *serverStream<M extends S["method"][keyof S["method"]] & DescMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
    settings: CallSettings = {},
  ): AsyncGenerator<MessageShape<M["output"]>> {
    const bytes = asBuffer(encodeMessage(method.input, create(method.input, request)));
    const call = this.#client.makeServerStreamRequest(
      this.#path(method),
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      settings.metadata ?? new Metadata(),
      callOptions(settings),
    );
    try {
      for await (const chunk of call)
        yield fromBinary(method.output, chunk as Buffer) as MessageShape<M["output"]>;
    } catch (error) {
      throw fromServiceError(error as ServiceError, method.name);
    } finally {
      call.cancel();
    }
  }

  close(): void {
    this.#client.close();
  }

  #path(method: DescMethod): string {
    return `/${this.service.typeName}/${method.name}`;
  }
}

function callOptions(settings: CallSettings): CallOptions {
  return settings.timeout === undefined ? {} : { deadline: Date.now() + settings.timeout * 1000 };
}

/** A gRPC failure as a FedbridgeError: the codes are the same numbers. */
export function fromServiceError(error: ServiceError, methodName: string): FedbridgeError {
  const code = (error.code ?? status.UNKNOWN) as number as Code;
  const message = error.details || error.message;
  return new FedbridgeError(code in Code ? code : Code.Unknown, `${methodName}: ${message}`, {
    cause: error,
  });
}
