import { create, toBinary } from "@bufbuild/protobuf";
import { sha256Hex } from "../../core/security/sha256.ts";
import { MessageSchema } from "../../gen/flwr/proto/message_pb.ts";
import { ConfigRecordSchema, MetricRecordSchema } from "../../gen/flwr/proto/recorddict_pb.ts";
import type { Message } from "../message/message.ts";
import type { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import type { AnyRecord, RecordDict } from "../records/record-dict.ts";
import { configRecordToProto, metricRecordToProto } from "../records/serde.ts";
import { pythonJson } from "./python-json.ts";

/**
 * Flower's content-addressed objects ("inflatable objects"): every Message, RecordDict,
 * record, FlowerArray and 5 MiB ArrayChunk becomes `<Type> <child ids> <body length>\0<body>`,
 * and its id is the SHA-256 of those bytes. A message's id is the id of its object, so
 * deflating here gives the same ids Flower 1.28 computes.
 */

/** Flower's FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE. */
export const ARRAY_CHUNK_SIZE = 5 * 1024 * 1024;

/** One deflated object: its id, its bytes, and its unique direct children. */
export interface DeflatedObject {
  readonly id: string;
  /** `<Type> <child ids> <body length>\0<body>`, joined on first use and kept. */
  readonly bytes: Uint8Array;
  /** The length of `bytes`, without joining them. */
  readonly size: number;
  /**
   * The same bytes, joined anew (into `into`, `size` long, when given) and not kept (unless
   * `bytes` was asked for already): a node pushing a large reply holds the joined bytes of the
   * objects in flight, not of the model.
   */
  join(into?: Uint8Array): Uint8Array;
  /** The same bytes as pieces to write one after the other, none of them copied. */
  pieces(): Uint8Array[];
  readonly children: readonly DeflatedObject[];
}

const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);

/**
 * The id and bytes of a leaf or inner object. The id is hashed from the header and the body as
 * they are; the bytes are joined only when asked for (pushing to a SuperLink, serving a pull),
 * so computing a content id (FedAvg's reply order) copies nothing.
 */
function makeObject(
  type: string,
  body: Uint8Array,
  children: readonly DeflatedObject[],
): DeflatedObject {
  const unique = uniqueById(children);
  let ids = "";
  for (const child of unique) ids += ids === "" ? child.id : `,${child.id}`;
  const head = `${type} ${ids} ${body.length}\0`; // ASCII: type names, hex ids, digits
  return new LazyObject(sha256Hex(head, body), head, body, unique);
}

class LazyObject implements DeflatedObject {
  #bytes: Uint8Array | undefined;
  constructor(
    readonly id: string,
    private readonly head: string,
    private readonly body: Uint8Array,
    readonly children: readonly DeflatedObject[],
  ) {}
  get size(): number {
    return this.head.length + this.body.length;
  }
  get bytes(): Uint8Array {
    this.#bytes ??= this.join();
    return this.#bytes;
  }
  join(into?: Uint8Array): Uint8Array {
    if (this.#bytes !== undefined) {
      into?.set(this.#bytes);
      return into ?? this.#bytes;
    }
    const joined = into ?? new Uint8Array(this.size);
    encoder.encodeInto(this.head, joined);
    joined.set(this.body, this.head.length);
    return joined;
  }
  pieces(): Uint8Array[] {
    return this.#bytes !== undefined ? [this.#bytes] : [utf8(this.head), this.body];
  }
}

/** Every object of a tree by id (a shared object once). */
export function objectsById(
  root: DeflatedObject,
  into = new Map<string, DeflatedObject>(),
): Map<string, DeflatedObject> {
  into.set(root.id, root);
  for (const child of root.children) objectsById(child, into);
  return into;
}

function uniqueById(objects: readonly DeflatedObject[]): readonly DeflatedObject[] {
  if (objects.length < 2) return objects;
  const seen = new Map<string, DeflatedObject>();
  for (const o of objects) if (!seen.has(o.id)) seen.set(o.id, o);
  return [...seen.values()];
}

/** An object whose bytes exist already (received and checked against its id): nothing to hash. */
class KnownObject implements DeflatedObject {
  constructor(
    readonly id: string,
    readonly bytes: Uint8Array,
    readonly children: readonly DeflatedObject[],
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  join(into?: Uint8Array): Uint8Array {
    into?.set(this.bytes);
    return into ?? this.bytes;
  }
  pieces(): Uint8Array[] {
    return [this.bytes];
  }
}

// Arrays are immutable and often shared (one model sent to every node): hash each once.
const arrayCache = new WeakMap<FlowerArray, DeflatedObject>();

/** The body of an Array object whose chunks, in order, have `chunkIds` (repeats allowed). */
function arrayBody(array: FlowerArray, chunkIds: readonly string[]): string {
  const unique = [...new Set(chunkIds)];
  return pythonJson({
    dtype: array.dtype,
    shape: [...array.shape],
    stype: array.stype,
    arraychunk_ids: chunkIds.map((id) => unique.indexOf(id)),
  });
}

export function deflateArray(array: FlowerArray): DeflatedObject {
  const cached = arrayCache.get(array);
  if (cached) return cached;
  const chunks: DeflatedObject[] = [];
  for (let start = 0; start < array.data.length; start += ARRAY_CHUNK_SIZE) {
    chunks.push(makeObject("ArrayChunk", array.data.subarray(start, start + ARRAY_CHUNK_SIZE), []));
  }
  const body = arrayBody(
    array,
    chunks.map((c) => c.id),
  );
  const deflated = makeObject("Array", utf8(body), chunks);
  arrayCache.set(array, deflated);
  return deflated;
}

/** An object received: its id, its bytes, and its body (a view on them). */
export interface ReceivedObject {
  id: string;
  bytes: Uint8Array;
  body: Uint8Array;
}

/**
 * Tells deflateArray the Array object `array` was inflated from, and its chunks in order, when
 * deflating `array` would give that very object (chunks of ARRAY_CHUNK_SIZE, the same body):
 * the ids of a reply's arrays are then known without hashing their bytes again (FedAvg orders
 * replies by content id). The objects must have been checked against their ids.
 */
export function rememberInflatedArray(
  array: FlowerArray,
  object: ReceivedObject,
  chunks: readonly ReceivedObject[],
): void {
  const sizes = chunks.map((chunk) => chunk.body.length);
  const canonical =
    chunks.length === Math.ceil(array.data.length / ARRAY_CHUNK_SIZE) &&
    sizes.every((size, i) => size === ARRAY_CHUNK_SIZE || i === sizes.length - 1) &&
    new TextDecoder().decode(object.body) ===
      arrayBody(
        array,
        chunks.map((c) => c.id),
      );
  if (!canonical) return;
  const children = uniqueById(chunks.map((c) => new KnownObject(c.id, c.bytes, [])));
  arrayCache.set(array, new KnownObject(object.id, object.bytes, children));
}

export function deflateRecord(record: AnyRecord): DeflatedObject {
  if (record instanceof ArrayRecord) {
    const children = [...record].map(([name, array]) => [name, deflateArray(array)] as const);
    const body = pythonJson(new Map(children.map(([name, child]) => [name, child.id])));
    return makeObject(
      "ArrayRecord",
      utf8(body),
      children.map(([, child]) => child),
    );
  }
  if (record instanceof MetricRecord) {
    return makeObject(
      "MetricRecord",
      toBinary(MetricRecordSchema, metricRecordToProto(record)),
      [],
    );
  }
  return makeObject("ConfigRecord", toBinary(ConfigRecordSchema, configRecordToProto(record)), []);
}

export function deflateRecordDict(dict: RecordDict): DeflatedObject {
  const children = [...dict].map(([name, record]) => [name, deflateRecord(record)] as const);
  const body = pythonJson(new Map(children.map(([name, child]) => [name, child.id])));
  return makeObject(
    "RecordDict",
    utf8(body),
    children.map(([, child]) => child),
  );
}

/**
 * The message as Flower's object tree; the root's id is the message id. `content`: the
 * message's content already deflated (see deflateMessages).
 */
export function deflateMessage(message: Message, content?: DeflatedObject): DeflatedObject {
  const proto = create(MessageSchema, {
    metadata: { ...message.metadata, messageId: "" },
    ...(message.hasError()
      ? { error: { code: BigInt(message.error.code), reason: message.error.reason } }
      : {}),
  });
  const children = message.hasContent() ? [content ?? deflateRecordDict(message.content)] : [];
  return makeObject("Message", toBinary(MessageSchema, proto), children);
}

/**
 * deflateMessage for each of `messages`, deflating a content they share once: a round's
 * instructions to 1,000 nodes carry one RecordDict, which was serialized and hashed 1,000
 * times (twice: once for the ids, once to store them). Call it before anything can change
 * the records: the deflated content is reused for every message that holds the same object.
 */
export function deflateMessages(messages: readonly Message[]): DeflatedObject[] {
  const contents = new Map<RecordDict, DeflatedObject>();
  return messages.map((message) => {
    if (!message.hasContent()) return deflateMessage(message);
    let content = contents.get(message.content);
    if (content === undefined) {
      content = deflateRecordDict(message.content);
      contents.set(message.content, content);
    }
    return deflateMessage(message, content);
  });
}

/** The message id Flower assigns to `message`. */
export function computeMessageId(message: Message): string {
  return deflateMessage(message).id;
}
