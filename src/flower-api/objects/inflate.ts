import { create } from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { sha256Hex } from "../../core/security/sha256.ts";
import {
  MessageSchema,
  type ObjectTree,
  ObjectTreeSchema,
} from "../../gen/flwr/proto/message_pb.ts";
import { ConfigRecordSchema, MetricRecordSchema } from "../../gen/flwr/proto/recorddict_pb.ts";
import { Message } from "../message/message.ts";
import { messageFromProto } from "../message/message-serde.ts";
import type { Metadata } from "../message/metadata.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { type AnyRecord, RecordDict } from "../records/record-dict.ts";
import { configRecordFromProto, decodeOrThrow, metricRecordFromProto } from "../records/serde.ts";
import { type DeflatedObject, rememberInflatedArray } from "./deflate.ts";

/**
 * The other half of deflate.ts: objects that arrived over the Fleet API (PullObject,
 * PushObject) are checked and turned back into a Message. A SuperNode inflates the
 * instructions it pulls, a SuperLink the replies pushed to it; both see the same bytes.
 */

/** The object types Flower registers; any other type is rejected, as the SuperLink does. */
export const OBJECT_TYPES = [
  "Message",
  "RecordDict",
  "ArrayRecord",
  "ConfigRecord",
  "MetricRecord",
  "Array",
  "ArrayChunk",
] as const;

export type ObjectType = (typeof OBJECT_TYPES)[number];

/** An object's header, and its body as a view on the object's bytes (not a copy). */
export interface ParsedObject {
  type: ObjectType;
  childIds: string[];
  body: Uint8Array;
  /** All of the object's bytes, header included. */
  bytes: Uint8Array;
}

/** Reads an object's bytes as the lowest layer of the Fleet API gets them. */
export type GetObject = (id: string) => Uint8Array | undefined;

const OBJECT_ID = /^[0-9a-f]{64}$/;

/** True for a lowercase 64-hex SHA-256 id, the only ids an object can have. */
export function isObjectId(id: string): boolean {
  return OBJECT_ID.test(id);
}

/** The id of an object: lowercase hex SHA-256 of all its bytes, header included. */
export function objectId(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/** True when `bytes` hash to `id`, i.e. the object is the one that was asked for. */
export function verifyObject(id: string, bytes: Uint8Array): boolean {
  return objectId(bytes) === id;
}

/**
 * Splits `<Type> <child ids> <body length>\0<body>` and checks it by Flower's rules
 * (`validate_object_content`): three header parts, a known type, 64-hex child ids and
 * a body of the stated length. A violation is FAILED_PRECONDITION, the status the
 * SuperLink answers a bad PushObject with.
 */
export function parseObject(bytes: Uint8Array): ParsedObject {
  const nul = bytes.indexOf(0);
  if (nul < 0) throw malformed("no NUL byte between header and body");
  let header: string;
  try {
    header = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, nul));
  } catch {
    throw malformed("the header is not UTF-8");
  }
  const parts = header.split(" ");
  if (parts.length !== 3) throw malformed(`the header has ${parts.length} parts, not 3`);
  const [type, children, length] = parts as [string, string, string];
  if (!(OBJECT_TYPES as readonly string[]).includes(type)) {
    throw malformed(`unknown object type '${type.slice(0, 40)}'`);
  }
  const childIds = children === "" ? [] : children.split(",");
  const bad = childIds.find((id) => !isObjectId(id));
  if (bad !== undefined) throw malformed(`child id '${bad.slice(0, 80)}' is not 64 hex digits`);
  const body = bytes.subarray(nul + 1);
  if (!/^\d+$/.test(length) || Number(length) !== body.length) {
    throw malformed(
      `the header says ${length.slice(0, 20)} body bytes, the body has ${body.length}`,
    );
  }
  return { type: type as ObjectType, childIds, body, bytes };
}

function malformed(reason: string): FedbridgeError {
  return new FedbridgeError(Code.FailedPrecondition, `invalid object content: ${reason}`);
}

/**
 * Rebuilds the Message whose object is `rootId`, reading every object through
 * `getObject`. The message id is the root id, since the Message body carries "". Fields of
 * `metadataOverride` (e.g. the metadata PullMessages delivered) replace the body's.
 *
 * @example
 * const message = inflateMessage(tree.objectId, (id) => store.get(id).bytes);
 */
export function inflateMessage(
  rootId: string,
  getObject: GetObject,
  metadataOverride: Partial<Metadata> = {},
): Message {
  if (metadataOverride.messageId !== undefined && metadataOverride.messageId !== rootId) {
    throw invalid(`metadata message id ${metadataOverride.messageId} is not the root ${rootId}`);
  }
  const reader = new TreeReader(getObject);
  const root = reader.read(rootId, "the message", "Message");
  if (root.childIds.length > 1) throw invalid(`Message ${rootId} has more than one child`);
  const shell = messageFromProto(decodeOrThrow(MessageSchema, root.body, "Message object body"));
  const [contentId] = root.childIds;
  if (shell.hasError() && contentId !== undefined) {
    throw invalid(`Message ${rootId} carries both an error and content`);
  }
  const metadata: Metadata = { ...shell.metadata, ...metadataOverride, messageId: rootId };
  if (shell.hasError()) return new Message(shell.error, { metadata });
  if (contentId === undefined) throw invalid(`Message ${rootId} has neither content nor error`);
  return new Message(reader.recordDict(contentId), { metadata });
}

/** Reads objects of one message; Arrays are immutable, so each id is inflated once. */
class TreeReader {
  readonly #arrays = new Map<string, FlowerArray>();

  constructor(readonly getObject: GetObject) {}

  /** The object `id`, which must be one of `types`; `where` names it in errors. */
  read(id: string, where: string, ...types: ObjectType[]): ParsedObject {
    const bytes = this.getObject(id);
    if (bytes === undefined)
      throw new FedbridgeError(Code.NotFound, `object ${id} (${where}) is missing`);
    const parsed = parseObject(bytes);
    if (!types.includes(parsed.type)) {
      throw invalid(`object ${id} (${where}) is a ${parsed.type}, not a ${types.join(" or ")}`);
    }
    return parsed;
  }

  recordDict(id: string): RecordDict {
    const { childIds, body } = this.read(id, "the content", "RecordDict");
    const dict = new RecordDict();
    for (const [name, childId] of nameMap(body, childIds, `RecordDict ${id}`)) {
      dict.set(name, this.record(childId, `record '${name}'`));
    }
    return dict;
  }

  record(id: string, where: string): AnyRecord {
    const { type, childIds, body } = this.read(
      id,
      where,
      "ArrayRecord",
      "ConfigRecord",
      "MetricRecord",
    );
    if (type === "ConfigRecord")
      return configRecordFromProto(decodeOrThrow(ConfigRecordSchema, body, where));
    if (type === "MetricRecord")
      return metricRecordFromProto(decodeOrThrow(MetricRecordSchema, body, where));
    const record = new ArrayRecord();
    for (const [name, arrayId] of nameMap(body, childIds, `ArrayRecord ${id}`)) {
      record.set(name, this.array(arrayId, `array '${name}'`));
    }
    return record;
  }

  array(id: string, where: string): FlowerArray {
    const cached = this.#arrays.get(id);
    if (cached !== undefined) return cached;
    const object = this.read(id, where, "Array");
    const { childIds, body } = object;
    const head = parseJson(body, `Array ${id}`);
    const {
      dtype,
      shape,
      stype,
      arraychunk_ids: indices,
    } = (head ?? {}) as Record<string, unknown>;
    if (
      typeof dtype !== "string" ||
      typeof stype !== "string" ||
      !isIndexList(shape, 2 ** 53) ||
      !isIndexList(indices, childIds.length)
    ) {
      throw invalid(
        `Array ${id} body needs dtype, shape, stype and arraychunk_ids indexing its ${childIds.length} chunks`,
      );
    }
    // Views on the chunks' bodies. One chunk is used as it is (no copy: a model of many
    // layers under 5 MiB each inflates for free); several are copied once into one buffer.
    const chunks = childIds.map((chunkId) => ({
      id: chunkId,
      ...this.read(chunkId, `a chunk of ${where}`, "ArrayChunk"),
    }));
    const bodies = chunks.map((chunk) => chunk.body);
    const data =
      indices.length === 1
        ? (bodies[indices[0] as number] as Uint8Array)
        : concatenate(bodies, indices);
    const array = new FlowerArray({ dtype, shape, stype, data });
    const inOrder = indices.map((i) => chunks[i] as (typeof chunks)[number]);
    rememberInflatedArray(array, { id, ...object }, inOrder);
    this.#arrays.set(id, array);
    return array;
  }
}

function concatenate(chunks: readonly Uint8Array[], indices: readonly number[]): Uint8Array {
  const data = new Uint8Array(
    indices.reduce((total, i) => total + (chunks[i] as Uint8Array).length, 0),
  );
  let offset = 0;
  for (const i of indices) {
    data.set(chunks[i] as Uint8Array, offset);
    offset += (chunks[i] as Uint8Array).length;
  }
  return data;
}

/**
 * The `{name: child id}` body of a RecordDict or ArrayRecord, in the writer's order.
 * JSON.parse moves integer-like keys ("0", "10") to the front, so the order is read from
 * the text; the refs must be exactly the header's children, as Flower checks.
 */
function nameMap(body: Uint8Array, childIds: readonly string[], what: string): Map<string, string> {
  const parsed = parseJson(body, what);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid(`${what} body is not a JSON object`);
  }
  const values = parsed as Record<string, unknown>;
  const entries = new Map<string, string>();
  const tokens = new TextDecoder().decode(body).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
  for (let i = 0; i < tokens.length; i += 2) {
    const name = JSON.parse(tokens[i] as string) as string;
    const ref = values[name];
    if (!Object.hasOwn(values, name) || typeof ref !== "string") {
      throw invalid(`${what} body must map names to object ids`);
    }
    entries.set(name, ref);
  }
  const refs = new Set(entries.values());
  if (
    entries.size !== Object.keys(values).length ||
    refs.size !== childIds.length ||
    !childIds.every((c) => refs.has(c))
  ) {
    throw invalid(`${what} body refers to other objects than its header's children`);
  }
  return entries;
}

/** A list of integers in [0, max): a shape, or indices into a FlowerArray's chunks. */
function isIndexList(value: unknown, max: number): value is number[] {
  return Array.isArray(value) && value.every((i) => Number.isInteger(i) && i >= 0 && i < max);
}

function parseJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) as unknown;
  } catch (cause) {
    throw new FedbridgeError(Code.InvalidArgument, `${what} body is not JSON`, { cause });
  }
}

function invalid(message: string): FedbridgeError {
  return new FedbridgeError(Code.InvalidArgument, message);
}

/** The `flwr.proto.ObjectTree` of a deflated object, as PushMessages sends it. */
export function objectTreeOf(deflated: DeflatedObject): ObjectTree {
  return create(ObjectTreeSchema, {
    objectId: deflated.id,
    children: deflated.children.map(objectTreeOf),
  });
}

/** Every id of `tree` once, children before parents: the order objects are pushed and pulled. */
export function listPostOrder(tree: ObjectTree): string[] {
  const seen = new Set<string>();
  const visit = (node: ObjectTree): void => {
    if (seen.has(node.objectId)) return; // a shared subtree is complete the first time
    for (const child of node.children) visit(child);
    seen.add(node.objectId);
  };
  visit(tree);
  return [...seen];
}
