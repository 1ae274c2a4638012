import { describe, expect, it } from "vitest";
import { Code, FedbridgeError } from "../core/fedbridge-error.ts";
import { encodeRecord, readRecords } from "./tfrecord.ts";

const bytes = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const text = (s: string) => new TextEncoder().encode(s);

function failure(run: () => unknown): FedbridgeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FedbridgeError);
    return error as FedbridgeError;
  }
  throw new Error("expected a failure");
}

describe("TFRecord framing", () => {
  it("frames records and reads them back with their offsets", () => {
    const file = bytes(
      encodeRecord(text("first")),
      encodeRecord(new Uint8Array(0)),
      encodeRecord(text("third!")),
    );
    const records = [...readRecords(file)];
    expect(records.map((r) => r.offset)).toEqual([0, 21, 37]);
    expect(records.map((r) => new TextDecoder().decode(r.data))).toEqual(["first", "", "third!"]);
  });

  it("refuses a flipped byte in the data, naming the record's offset", () => {
    const file = bytes(encodeRecord(text("first")), encodeRecord(text("second")));
    file[21 + 12 + 2] ^= 0x01;
    const error = failure(() => [...readRecords(file, { source: "run/events" })]);
    expect(error.code).toBe(Code.DataLoss);
    expect(error.message).toMatch(
      /^run\/events: record at byte 21: data CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/,
    );
  });

  it("refuses a damaged length or its CRC", () => {
    const file = encodeRecord(text("payload"));
    file[0] = 200;
    expect(failure(() => [...readRecords(file)]).message).toMatch(
      /record at byte 0: length CRC mismatch/,
    );
  });

  it("refuses a truncated last record unless told to ignore it", () => {
    const whole = encodeRecord(text("whole"));
    const file = bytes(whole, encodeRecord(text("cut short")).subarray(0, 15));
    expect(failure(() => [...readRecords(file)]).message).toMatch(
      /record at byte 21: truncated: 9 bytes of data announced, 3 left/,
    );
    expect([...readRecords(file, { truncatedTail: "ignore" })]).toHaveLength(1);
    const header = bytes(whole, new Uint8Array(5));
    expect(failure(() => [...readRecords(header)]).message).toMatch(/truncated header/);
  });
});
