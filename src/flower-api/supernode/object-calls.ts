/**
 * One object's PullObject and PushObject calls, checked as a node must check them: a pulled
 * object must match its id, one not yet available is asked for again (waits doubling from 50 ms
 * to 2 s), a pulled array chunk is aligned for its values, and a pushed one must be stored. No
 * Node-only module: the browser's node uses it too.
 */
import {
  create,
  type DescMethod,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import { encodeAroundLastBytes, placeLastBytes } from "../../core/wire/proto-encode.ts";
import { Fleet } from "../../gen/flwr/proto/fleet_pb.ts";
import { PushObjectRequestSchema } from "../../gen/flwr/proto/message_pb.ts";
import { alignArrayChunk } from "../objects/align-chunk.ts";
import type { DeflatedObject } from "../objects/deflate.ts";
import { verifyObject } from "../objects/inflate.ts";

type FleetMethod = (typeof Fleet)["method"][keyof (typeof Fleet)["method"]] & DescMethod;

/** What both a node's gRPC connection and the browser's fetch one can do: call the Fleet API. */
export interface FleetCaller {
  call<M extends FleetMethod>(
    method: M,
    request: MessageInitShape<M["input"]>,
  ): Promise<MessageShape<M["output"]>>;
  /** A call with its request encoded already, in pieces sent as they are (a node's gRPC). */
  callEncoded?<M extends FleetMethod>(
    method: M,
    request: readonly Uint8Array[],
  ): Promise<MessageShape<M["output"]>>;
}

/** Pulls one object of a run, waiting while the SuperLink has it announced but not yet stored. */
export async function pullObject(
  connection: FleetCaller,
  node: { nodeId: bigint },
  runId: bigint,
  objectId: string,
): Promise<Uint8Array> {
  for (let attempt = 0, wait = 0.05; ; attempt++, wait = Math.min(wait * 2, 2)) {
    const response = await connection.call(Fleet.method.pullObject, { node, runId, objectId });
    if (!response.objectFound)
      throw new FedbridgeError(Code.NotFound, `object ${objectId} is unknown to the SuperLink`);
    if (response.objectAvailable) {
      if (!verifyObject(objectId, response.objectContent))
        throw new FedbridgeError(Code.DataLoss, `object ${objectId} does not match its id`);
      // Its values then decode where they lie, not copied to an aligned buffer.
      return alignArrayChunk(response.objectContent);
    }
    if (attempt > 200)
      throw new FedbridgeError(Code.DeadlineExceeded, `object ${objectId} never became available`);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
}

/**
 * Pushes one object of a run; rejects when the SuperLink does not store it. Where the connection
 * sends a request in pieces, the object's bytes go out where they lie (its header, then its body:
 * a view of the array's bytes); otherwise they are joined straight into the request that
 * carries them (placeLastBytes). Either way encoding copies nothing more.
 */
export async function pushObject(
  connection: FleetCaller,
  node: { nodeId: bigint },
  runId: bigint,
  object: DeflatedObject,
): Promise<void> {
  const request = create(PushObjectRequestSchema, { node, runId, objectId: object.id });
  const schema = PushObjectRequestSchema;
  let stored: boolean;
  if (connection.callEncoded !== undefined) {
    const pieces = encodeAroundLastBytes(schema, request, object.size, object.pieces());
    ({ stored } = await connection.callEncoded(Fleet.method.pushObject, pieces));
  } else {
    request.objectContent = placeLastBytes(schema, request, object.size, (i) => object.join(i));
    ({ stored } = await connection.call(Fleet.method.pushObject, request));
  }
  if (!stored)
    throw new FedbridgeError(Code.DataLoss, `the SuperLink did not store object ${object.id}`);
}
