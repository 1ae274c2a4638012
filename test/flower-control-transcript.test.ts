/**
 * Replays Flower 1.28's Control API transcript (../shared/fixtures/flower-1.28/control-transcript:
 * the real `flwr` CLI against a real SuperLink) against our flwr.proto.Control service, without
 * Python: every recorded request decodes with our schemas as Flower decoded it, and our service
 * answers the recorded sequence (flwr run --stream, flwr run, ls, log --show, stop, ls; and the
 * errors/ calls) as Flower's did, up to ids and times. The run's ServerApp is Python: the
 * launcher here is the seam where ServerAppIo would start it; the test pushes the recorded log
 * text into the run as that ServerApp would.
 */

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type DescMessage, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServiceError,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawServiceDefinition } from "../src/core/wire/grpc-service.ts";
import { createFlowerControlServicer } from "../src/flower-api/control/flower-control-servicer.ts";
import { ObjectStore } from "../src/flower-api/objects/object-store.ts";
import type { PythonServerAppLauncher } from "../src/flower-api/superlink/flower-serverapp-process.ts";
import { MessageRouter } from "../src/flower-api/superlink/message-router.ts";
import { NodeRegistry } from "../src/flower-api/superlink/node-registry.ts";
import { type RunRecord, RunRegistry } from "../src/flower-api/superlink/run-registry.ts";
import { RunEventSchema } from "../src/gen/fedbridge/v1/control_pb.ts";
import {
  Control,
  ListRunsResponseSchema,
  StartRunResponseSchema,
  StopRunResponseSchema,
  StreamLogsRequestSchema,
  StreamLogsResponseSchema,
} from "../src/gen/flwr/proto/control_pb.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Call {
  seq: number;
  method: string;
  request_b64: string;
  response_b64?: string | null;
  responses_b64?: string[];
  status: { code: number; name: string; details: string };
}
interface Decoded {
  seq: number;
  request_type: string;
  response_type: string;
  request: Json;
  response?: Json;
  responses?: Json[];
}

const fixture = "../shared/fixtures/flower-1.28/control-transcript/";
const readJsonl = <T>(path: string): T[] =>
  readFileSync(new URL(`../${fixture}${path}`, import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as T);
const calls = readJsonl<Call>("calls.jsonl");
const decoded = new Map(readJsonl<Decoded>("calls.decoded.jsonl").map((d) => [d.seq, d]));
const errorCalls = readJsonl<Call>("errors/calls.jsonl");
const b64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const call = (seq: number) => calls.find((c) => c.seq === seq) as Call;

function method(path: string) {
  const name = path.split("/").at(-1);
  const found = Control.methods.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no Control method ${path}`);
  return found;
}

/** proto3 JSON with proto field names, as Python's MessageToDict(preserving_proto_field_name). */
const asJson = (schema: DescMessage, bytes: Uint8Array) =>
  toJson(schema, fromBinary(schema, bytes), { useProtoFieldName: true });

describe("Flower 1.28 Control transcript: the wire", () => {
  it("has the 7 recorded calls and 3 error calls, each decoded by Flower too", () => {
    expect(calls.map((c) => c.method.split("/").at(-1))).toEqual([
      "StartRun",
      "StreamLogs",
      "StartRun",
      "ListRuns",
      "StreamLogs",
      "StopRun",
      "ListRuns",
    ]);
    expect(errorCalls).toHaveLength(3);
  });

  it.each(calls.map((c) => [c.seq, c.method, c] as const))(
    "call %i %s decodes with our schemas exactly as Flower's did",
    (seq, path, recorded) => {
      const m = method(path);
      const twin = decoded.get(seq) as Decoded;
      expect([m.input.typeName, m.output.typeName]).toEqual([
        twin.request_type,
        twin.response_type,
      ]);
      expect(asJson(m.input, b64(recorded.request_b64))).toEqual(twin.request);
      if (recorded.response_b64)
        expect(asJson(m.output, b64(recorded.response_b64))).toEqual(twin.response);
      (recorded.responses_b64 ?? []).forEach((r, i) => {
        expect(asJson(m.output, b64(r))).toEqual(twin.responses?.[i]);
      });
    },
  );
});

/** A raw gRPC client: sends recorded request bytes, returns response bytes. */
class RawClient {
  readonly #client: Client;
  constructor(address: string) {
    this.#client = new Client(address, credentials.createInsecure());
  }
  unary(path: string, request: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      this.#client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(request),
        new Metadata(),
        {},
        (error, value) => (error ? reject(error) : resolve(new Uint8Array(value as Buffer))),
      ),
    );
  }
  /** Opens a server stream; `onResponse` returns false to cancel it (as `flwr log --show`). */
  stream(
    path: string,
    request: Uint8Array,
    deadlineMs: number,
    onResponse: (bytes: Uint8Array) => boolean | undefined,
  ): Promise<{ responses: number; status: number; details: string }> {
    return new Promise((resolve) => {
      let responses = 0;
      const stream = this.#client.makeServerStreamRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(request),
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
      );
      stream.on("data", (bytes: Buffer) => {
        responses += 1;
        if (onResponse(new Uint8Array(bytes)) === false) stream.cancel();
      });
      stream.on("error", () => {});
      stream.on("status", (s) => resolve({ responses, status: s.code, details: s.details }));
    });
  }
  close() {
    this.#client.close();
  }
}

/** Our Flower Control service on a free port, with the registry the test drives. */
async function startService() {
  const workDir = await mkdtemp(join(tmpdir(), "flower-control-"));
  const nodes = new NodeRegistry();
  const runs = new RunRegistry();
  const router = new MessageRouter(new ObjectStore(), nodes);
  const launched: RunRecord[] = [];
  const pythonServerApps: PythonServerAppLauncher = {
    check() {},
    // As Flower's flwr-serverapp does once started: it takes the run and pulls its inputs.
    launch: (run) => {
      launched.push(run);
      runs.advance(run, "starting");
      runs.advance(run, "running");
    },
    close() {},
  };
  const server = new Server();
  server.addService(
    rawServiceDefinition(Control),
    createFlowerControlServicer({ runs, router, nodes, workDir, pythonServerApps }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const client = new RawClient(`127.0.0.1:${port}`);
  return {
    runs,
    launched,
    client,
    async close() {
      client.close();
      server.forceShutdown();
      nodes.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** The recorded log text of a StreamLogs call, one string per response. */
function recordedLogs(seq: number): string[] {
  return (decoded.get(seq)?.responses ?? []).map((r) => (r as { log_output: string }).log_output);
}

/** Pushes a chunk of ServerApp log text into a run, as a Python ServerApp's PushLogs would. */
function pushLog(runs: RunRegistry, run: RunRecord, text: string) {
  runs.emit(
    run,
    create(RunEventSchema, { event: { case: "log", value: text.replace(/\n$/, "") } }),
  );
}

/** A Run of ListRuns without what changes from run to run (ids, times, byte counts). */
function stable(run: Json): Json {
  const {
    run_id,
    pending_at,
    starting_at,
    running_at,
    finished_at,
    bytes_sent,
    bytes_recv,
    clientapp_runtime,
    status,
    ...rest
  } = run as Record<string, Json>;
  const { details, ...statusRest } = (status ?? {}) as Record<string, Json>;
  return { ...rest, status: statusRest, finished: finished_at !== undefined };
}

describe("Flower 1.28 Control transcript: replayed against our service", () => {
  let service: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(() => service.close());

  it("answers flwr run --stream, flwr run, ls, log --show, stop and ls as Flower's SuperLink did", async () => {
    const { runs, launched, client } = service;
    const startRun = method("StartRun");

    // seq 1: StartRun with the recorded FAB and overrides; the Python ServerApp is launched.
    const a = fromBinary(
      StartRunResponseSchema,
      await client.unary(call(1).method, b64(call(1).request_b64)),
    );
    expect(a.runId).toBeGreaterThan(0n);
    const runA = runs.get(a.runId as bigint) as RunRecord;
    expect(launched[0]).toBe(runA);
    expect(runA).toMatchObject({ fabId: "peer/pyquick", fabVersion: "1.0.0", serverApp: "python" });
    expect(runA.overrideConfig).toEqual({ "num-server-rounds": 2 });
    expect(startRun.output.typeName).toBe(StartRunResponseSchema.typeName);

    // seq 2: StreamLogs follows run A: each batch of ServerApp log text, then OK once finished.
    const logsA = recordedLogs(2);
    const times: number[] = [];
    const got: string[] = [];
    const request = (runId: bigint, after = 0) =>
      toBinary(
        StreamLogsRequestSchema,
        create(StreamLogsRequestSchema, { runId, afterTimestamp: after }),
      );
    pushLog(runs, runA, logsA[0] as string);
    const streamA = client.stream(call(2).method, request(runA.runId), 60_000, (bytes) => {
      const r = fromBinary(StreamLogsResponseSchema, bytes);
      got.push(r.logOutput);
      times.push(r.latestTimestamp);
      // The ServerApp goes on logging after each response; its last batch ends the run.
      const next = logsA[got.length];
      if (next !== undefined) pushLog(runs, runA, next);
      if (got.length === logsA.length) runs.finish(runA, "completed");
      return true;
    });
    const endedA = await streamA;
    expect(endedA.status).toBe(0);
    expect(got.join("")).toBe(logsA.join(""));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(new Set(times).size).toBe(times.length);

    // seq 3: StartRun again, same bytes: a second run (B), launched too.
    const b = fromBinary(
      StartRunResponseSchema,
      await client.unary(call(3).method, b64(call(3).request_b64)),
    );
    expect(b.runId).not.toBe(a.runId);
    const runB = runs.get(b.runId as bigint) as RunRecord;
    expect(launched).toHaveLength(2);

    // seq 4: ListRuns (empty request): B running, A finished:completed, fields as Flower's.
    const listed4 = asJson(
      ListRunsResponseSchema,
      await client.unary(call(4).method, b64(call(4).request_b64)),
    ) as { run_dict: Record<string, Json>; now: string };
    const want4 = decoded.get(4)?.response as { run_dict: Record<string, Json> };
    const recordedA = "7751429300507346562";
    const recordedB = "12259895056257713757";
    expect(stable(listed4.run_dict[String(a.runId)] as Json)).toEqual(
      stable(want4.run_dict[recordedA] as Json),
    );
    expect(stable(listed4.run_dict[String(b.runId)] as Json)).toEqual(
      stable(want4.run_dict[recordedB] as Json),
    );
    expect(listed4.now).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);

    // seq 5: flwr log B --show: the first response holds every log line so far; the CLI cancels.
    const logsB = recordedLogs(5);
    for (const chunk of logsB) pushLog(runs, runB, chunk);
    let shown = "";
    const log5 = await client.stream(call(5).method, request(runB.runId), 5_000, (bytes) => {
      shown = fromBinary(StreamLogsResponseSchema, bytes).logOutput;
      return false;
    });
    expect(log5.responses).toBe(1);
    expect(log5.status).toBe(1); // CANCELLED, by the client
    expect(shown).toBe(logsB.join(""));

    // seq 6: StopRun B: success, and B is finished:stopped.
    const stopped = fromBinary(
      StopRunResponseSchema,
      await client.unary(
        call(6).method,
        toBinary(method("StopRun").input, create(method("StopRun").input, { runId: runB.runId })),
      ),
    );
    expect(stopped.success).toBe(true);
    expect([runB.status, runB.subStatus]).toEqual(["finished", "stopped"]);

    // seq 7: ListRuns: both listed, B now finished:stopped with finished_at.
    const listed7 = asJson(
      ListRunsResponseSchema,
      await client.unary(call(7).method, b64(call(7).request_b64)),
    ) as { run_dict: Record<string, Json> };
    const want7 = decoded.get(7)?.response as { run_dict: Record<string, Json> };
    expect(Object.keys(listed7.run_dict).sort()).toEqual([String(a.runId), String(b.runId)].sort());
    expect(stable(listed7.run_dict[String(b.runId)] as Json)).toEqual(
      stable(want7.run_dict[recordedB] as Json),
    );
    expect(stable(listed7.run_dict[String(a.runId)] as Json)).toEqual(
      stable(want7.run_dict[recordedA] as Json),
    );
  });
});

describe("Flower 1.28 Control transcript errors/: replayed against a fresh service", () => {
  it("answers ListRuns with no runs, and StopRun and StreamLogs of an unknown run NOT_FOUND", async () => {
    const service = await startService();
    try {
      const [list, stop, logs] = errorCalls;
      const listed = asJson(
        ListRunsResponseSchema,
        await service.client.unary(list?.method ?? "", b64(list?.request_b64 ?? "")),
      ) as Record<string, Json>;
      expect(Object.keys(listed)).toEqual(["now"]);

      const error = await service.client
        .unary(stop?.method ?? "", b64(stop?.request_b64 ?? ""))
        .then(
          () => undefined,
          (e: ServiceError) => e,
        );
      expect([error?.code, error?.details]).toEqual([stop?.status.code, stop?.status.details]);

      const streamed = await service.client.stream(
        logs?.method ?? "",
        b64(logs?.request_b64 ?? ""),
        5_000,
        () => true,
      );
      expect(streamed).toEqual({
        responses: 0,
        status: logs?.status.code,
        details: logs?.status.details,
      });
    } finally {
      await service.close();
    }
  });
});
