import { describe, expect, it } from "vitest";
import { createRng } from "../../core/numeric/random.ts";
import { createContext } from "../app/context.ts";
import type { ClientAppCallable } from "../app/mod.ts";
import { ErrorCode } from "../message/error.ts";
import { Message } from "../message/message.ts";
import { FlowerArray } from "../records/array.ts";
import { ArrayRecord } from "../records/array-record.ts";
import { ConfigRecord, type ConfigValue } from "../records/config-record.ts";
import { MetricRecord } from "../records/metric-record.ts";
import { RecordDict } from "../records/record-dict.ts";
import { adaptiveClippingMod, fixedClippingMod } from "./centraldp-mods.ts";
import { getNorm } from "./differential-privacy.ts";

const context = createContext({ runId: 1n, nodeId: 9n, runConfig: { seed: 3 } });

const float64Model = (values: ArrayLike<number>) =>
  ArrayRecord.fromTypedArrays([{ values: Float64Array.from(values), shape: [values.length] }]);

function instruction(
  arrays: ArrayRecord,
  config: Record<string, ConfigValue> | undefined,
  messageType = "train",
): Message {
  const content = new RecordDict({ arrays });
  if (config !== undefined) content.set("config", new ConfigRecord(config));
  return new Message(content, { dstNodeId: 9n, messageType });
}

/** A handler that replies with `arrays` and one MetricRecord, counting its calls. */
function replyWith(arrays: ArrayRecord) {
  const handler = Object.assign(
    async (message: Message) => {
      handler.calls++;
      const metrics = new MetricRecord({ "num-examples": 1 });
      return new Message(new RecordDict({ arrays, metrics }), { replyTo: message });
    },
    { calls: 0 },
  );
  return handler;
}

const sentValues = (reply: Message) =>
  (reply.content.arrayRecords.get("arrays") as ArrayRecord).toTypedArrays()[0] as Float64Array;

describe("fixedClippingMod", () => {
  it("keeps every update within the clipping norm the server sent", async () => {
    const rng = createRng("mod-clip-test");
    for (let trial = 0; trial < 100; trial++) {
      const clippingNorm = 0.05 + 2 * rng.next();
      const received = Float64Array.from({ length: 6 }, () => rng.normal());
      const scale = 10 ** (4 * rng.next() - 2);
      const sent = Float64Array.from(received, (v) => v + scale * rng.normal());
      const reply = await fixedClippingMod(
        instruction(float64Model(received), { clipping_norm: clippingNorm }),
        context,
        replyWith(float64Model(sent)),
      );
      const update = Float64Array.from(sentValues(reply), (v, i) => v - (received[i] as number));
      // ≤ C up to float64 rounding of (received + u) − received, far below 1e-12.
      expect(getNorm([update])).toBeLessThanOrEqual(clippingNorm + 1e-12);
      const before = getNorm([Float64Array.from(sent, (v, i) => v - (received[i] as number))]);
      if (before > clippingNorm) expect(getNorm([update])).toBeCloseTo(clippingNorm, 10);
    }
  });

  it("keeps the reply's keys, shapes and dtypes", async () => {
    const arrays = (w: number[], b: number) =>
      new ArrayRecord({
        w: FlowerArray.fromTypedArray(Float32Array.from(w), [2, 2]),
        b: FlowerArray.fromTypedArray(Float32Array.from([b]), [1]),
      });
    const reply = await fixedClippingMod(
      instruction(arrays([0, 0, 0, 0], 0), { clipping_norm: 1 }),
      context,
      replyWith(arrays([3, 0, 0, 0], 4)),
    );
    const out = reply.content.arrayRecords.get("arrays") as ArrayRecord;
    expect([...out.keys()]).toEqual(["w", "b"]);
    expect(out.get("w")?.shape).toEqual([2, 2]);
    expect(out.get("w")?.dtype).toBe("float32");
    // One norm over both arrays: [3, 0, 0, 0, 4] has norm 5, scaled by 1/5.
    expect([...(out.get("w")?.toTypedArray() ?? [])]).toEqual([0.6000000238418579, 0, 0, 0]);
    expect([...(out.get("b")?.toTypedArray() ?? [])]).toEqual([0.800000011920929]);
  });

  it("fails with MOD_FAILED_PRECONDITION before training when there is no clipping_norm", async () => {
    const handler = replyWith(float64Model([1]));
    const reply = await fixedClippingMod(
      instruction(float64Model([0]), { lr: 0.1 }),
      context,
      handler,
    );
    expect(reply.error.code).toBe(ErrorCode.MOD_FAILED_PRECONDITION);
    expect(reply.error.reason).toContain("'clipping_norm'");
    expect(handler.calls).toBe(0);
  });

  it("fails when records are missing or keys do not match, as Flower's checks", async () => {
    const noConfig = await fixedClippingMod(
      instruction(float64Model([0]), undefined),
      context,
      replyWith(float64Model([1])),
    );
    expect(noConfig.error.reason).toBe(
      "fixedClippingMod expects exactly one ConfigRecord, but found 0 ConfigRecord(s).",
    );
    const renamed = new ArrayRecord({ other: FlowerArray.fromTypedArray(new Float64Array([1])) });
    const mismatch = await fixedClippingMod(
      instruction(float64Model([0]), { clipping_norm: 1 }),
      context,
      replyWith(renamed),
    );
    expect(mismatch.error.reason).toContain("expects the keys in the ArrayRecord");
    const ints = ArrayRecord.fromTypedArrays([{ values: new Int32Array([1]), shape: [1] }]);
    const intReply = await fixedClippingMod(
      instruction(ArrayRecord.fromTypedArrays([{ values: new Int32Array([0]), shape: [1] }]), {
        clipping_norm: 1,
      }),
      context,
      replyWith(ints),
    );
    expect(intReply.error.code).toBe(ErrorCode.MOD_FAILED_PRECONDITION);
    expect(intReply.error.reason).toContain("dtype int32");
  });

  it("passes evaluate messages through untouched", async () => {
    const sent = float64Model([5, 5]);
    const reply = await fixedClippingMod(
      instruction(float64Model([0, 0]), undefined, "evaluate"),
      context,
      replyWith(sent),
    );
    expect(reply.content.arrayRecords.get("arrays")).toBe(sent);
  });
});

describe("adaptiveClippingMod", () => {
  it("clips and reports the norm bit: 1 when clipped, 0 when not", async () => {
    const run = async (update: number[]) => {
      const next: ClientAppCallable = replyWith(float64Model(update));
      const reply = await adaptiveClippingMod(
        instruction(float64Model([0, 0]), { clipping_norm: 1 }),
        context,
        next,
      );
      return { reply, bit: reply.content.metricRecords.get("metrics")?.get("norm_bit") };
    };
    const clipped = await run([3, 4]);
    expect(clipped.bit).toBe(1);
    expect([...sentValues(clipped.reply)]).toEqual([0.6000000000000001, 0.8]);
    const kept = await run([0.3, 0.4]);
    expect(kept.bit).toBe(0);
    expect([...sentValues(kept.reply)]).toEqual([0.3, 0.4]);
  });

  it("needs exactly one MetricRecord in the reply", async () => {
    const reply = await adaptiveClippingMod(
      instruction(float64Model([0]), { clipping_norm: 1 }),
      context,
      async (message) =>
        new Message(new RecordDict({ arrays: float64Model([1]) }), { replyTo: message }),
    );
    expect(reply.error.reason).toBe(
      "adaptiveClippingMod expects exactly one MetricRecord, but found 0 MetricRecord(s).",
    );
  });
});
