import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Code, FedbridgeError } from "../../core/fedbridge-error.ts";
import {
  type AuthMetadata,
  applyAuthMetadata,
  createAuthSigner,
  createNodeKeyPair,
  PUBLIC_KEY_HEADER,
  pythonIsoTimestamp,
  SIGNATURE_HEADER,
  signAuthMetadata,
  TIMESTAMP_HEADER,
  verifyAuthMetadata,
} from "./node-auth.ts";

const NOW = new Date("2025-06-15T12:34:56.789Z");
const getter = (entries: Record<string, string | Buffer>) => (key: string) => entries[key];

function expectUnauthenticated(run: () => unknown, message: string): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FedbridgeError);
    expect((err as FedbridgeError).code).toBe(Code.Unauthenticated);
    expect((err as FedbridgeError).message).toBe(message);
    return;
  }
  expect.fail(`expected "${message}"`);
}

/** The PEM layout Python's `cryptography` writes: header, 64-char base64 lines, footer, `\n`. */
function expectPythonPemLayout(pem: string): void {
  const lines = pem.split("\n");
  expect(lines[0]).toBe("-----BEGIN PUBLIC KEY-----");
  expect(lines.at(-2)).toBe("-----END PUBLIC KEY-----");
  expect(lines.at(-1)).toBe("");
  const body = lines.slice(1, -2);
  for (const line of body.slice(0, -1)) expect(line).toMatch(/^[A-Za-z0-9+/]{64}$/);
  expect(body.at(-1)).toMatch(/^[A-Za-z0-9+/=]{1,64}$/);
}

describe("pythonIsoTimestamp", () => {
  it("writes microseconds and +00:00, and no fraction when it is zero, like Python", () => {
    expect(pythonIsoTimestamp(NOW)).toBe("2025-06-15T12:34:56.789000+00:00");
    expect(pythonIsoTimestamp(new Date("2025-06-15T12:34:56.000Z"))).toBe(
      "2025-06-15T12:34:56+00:00",
    );
    expect(pythonIsoTimestamp(new Date("2025-06-15T12:34:56.007Z"))).toBe(
      "2025-06-15T12:34:56.007000+00:00",
    );
  });
});

describe("signAuthMetadata / verifyAuthMetadata", () => {
  const { privateKey, publicKeyPem } = createNodeKeyPair();
  const signed = (now = NOW): AuthMetadata => signAuthMetadata(privateKey, publicKeyPem, now);
  const verifyAt = (entries: Record<string, string | Buffer>, now = NOW) =>
    verifyAuthMetadata(getter(entries), now);

  it("round-trips and returns the key bytes as sent", () => {
    const metadata = signed();
    expect(metadata[TIMESTAMP_HEADER]).toBe("2025-06-15T12:34:56.789000+00:00");
    expect(metadata[SIGNATURE_HEADER][0]).toBe(0x30); // DER SEQUENCE
    expect(verifyAt({ ...metadata }).publicKeyPem).toEqual(publicKeyPem);
  });

  it("accepts ages just inside (-5 s, 305 s)", () => {
    expect(() => verifyAt({ ...signed() }, new Date(NOW.getTime() + 304_900))).not.toThrow();
    expect(() => verifyAt({ ...signed() }, new Date(NOW.getTime() - 4_900))).not.toThrow();
  });

  it("rejects missing headers before looking at anything else", () => {
    for (const key of [PUBLIC_KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]) {
      // The other two are garbage: presence is checked first.
      const entries: Record<string, string | Buffer> = {
        [PUBLIC_KEY_HEADER]: Buffer.from("garbage"),
        [TIMESTAMP_HEADER]: "yesterday",
        [SIGNATURE_HEADER]: Buffer.alloc(0),
      };
      delete entries[key];
      expectUnauthenticated(() => verifyAt(entries), "Missing authentication metadata");
    }
  });

  it("rejects a tampered signature, another node's key, a re-signed timestamp, garbage keys", () => {
    const metadata = signed();
    const tampered = Buffer.from(metadata[SIGNATURE_HEADER]);
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    expectUnauthenticated(
      () => verifyAt({ ...metadata, [SIGNATURE_HEADER]: tampered }),
      "Invalid signature",
    );
    const other = Buffer.from(createNodeKeyPair().publicKeyPem);
    expectUnauthenticated(
      () => verifyAt({ ...metadata, [PUBLIC_KEY_HEADER]: other }),
      "Invalid signature",
    );
    const later = pythonIsoTimestamp(new Date(NOW.getTime() + 1000));
    expectUnauthenticated(
      () => verifyAt({ ...metadata, [TIMESTAMP_HEADER]: later }),
      "Invalid signature",
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    for (const key of [
      Buffer.from("garbage"),
      Buffer.alloc(0),
      Buffer.from("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
      Buffer.from(rsa.export({ type: "spki", format: "pem" })),
    ]) {
      expectUnauthenticated(
        () => verifyAt({ ...metadata, [PUBLIC_KEY_HEADER]: key }),
        "Invalid signature",
      );
    }
  });

  it("rejects stale (306 s old) and future (6 s ahead) timestamps", () => {
    expectUnauthenticated(
      () => verifyAt({ ...signed() }, new Date(NOW.getTime() + 306_000)),
      "Invalid timestamp",
    );
    expectUnauthenticated(
      () => verifyAt({ ...signed() }, new Date(NOW.getTime() - 6_000)),
      "Invalid timestamp",
    );
  });

  it("parses other offsets and rejects naive or malformed timestamps (validly signed)", () => {
    const { privateKey: key, publicKeyPem: pem } = createNodeKeyPair();
    const signText = (text: string) => ({
      [PUBLIC_KEY_HEADER]: Buffer.from(pem),
      [TIMESTAMP_HEADER]: text,
      [SIGNATURE_HEADER]: sign("sha256", Buffer.from(text), key),
    });
    for (const ok of [
      "2025-06-15T14:34:56.789000+02:00",
      "2025-06-15T09:04:56.789-03:30",
      "2025-06-15T12:34:56Z",
    ]) {
      expect(() => verifyAt(signText(ok))).not.toThrow();
    }
    for (const bad of [
      "2025-06-15T12:34:56.789000",
      "2025-02-30T12:34:56+00:00",
      "2025-06-15T12:34:56.789000+24:00",
      "yesterday",
    ]) {
      expectUnauthenticated(() => verifyAt(signText(bad)), "Invalid timestamp");
    }
  });

  it("applies the three entries to any Metadata-like sink", () => {
    const seen = new Map<string, string | Buffer>();
    const sink = applyAuthMetadata(
      { set: (k: string, v: string | Buffer) => seen.set(k, v) },
      signed(),
    );
    expect(sink).toBeDefined();
    expect([...seen.keys()]).toEqual([PUBLIC_KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]);
    expect(() => verifyAuthMetadata((k) => seen.get(k), NOW)).not.toThrow();
  });
});

interface RecordedCall {
  seq: number;
  method: string;
  metadata: Record<string, string>;
}

describe("golden: a real Flower 1.28 SuperNode's calls", () => {
  const url = new URL(
    "../../../../shared/fixtures/flower-1.28/fleet-transcript/calls.jsonl",
    import.meta.url,
  );
  const calls = readFileSync(url, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as RecordedCall);
  /** `-bin` values are recorded as base64 of the raw bytes, as gRPC carries them. */
  const recorded = (call: RecordedCall) => (key: string) => {
    const value = call.metadata[key];
    if (value === undefined || !key.endsWith("-bin")) return value;
    return Buffer.from(value, "base64");
  };
  /** The call's own clock, to millisecond precision, plus one second. */
  const justAfter = (call: RecordedCall) => {
    const text = call.metadata[TIMESTAMP_HEADER] ?? "";
    return new Date(Date.parse(text.replace(/(\.\d{3})\d{3}/, "$1")) + 1000);
  };

  it("verifies the real signature of every one of the 85 calls", () => {
    expect(calls).toHaveLength(85);
    for (const call of calls) {
      const { publicKeyPem } = verifyAuthMetadata(recorded(call), justAfter(call));
      expect(Buffer.from(publicKeyPem).toString("base64")).toBe(call.metadata[PUBLIC_KEY_HEADER]);
    }
  });

  it("rejects a real call whose timestamp is swapped for another call's", () => {
    const [first, second] = calls as [RecordedCall, RecordedCall];
    const get = recorded(first);
    const swapped = (key: string) =>
      key === TIMESTAMP_HEADER ? second.metadata[TIMESTAMP_HEADER] : get(key);
    expectUnauthenticated(
      () => verifyAuthMetadata(swapped, justAfter(second)),
      "Invalid signature",
    );
    expectUnauthenticated(
      () => verifyAuthMetadata(get, new Date(justAfter(first).getTime() + 305_000)),
      "Invalid timestamp",
    );
  });

  it("writes public keys in the same PEM layout, and timestamps of the same shape", () => {
    const ours = new TextDecoder().decode(createNodeKeyPair().publicKeyPem);
    const pythonShape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/;
    expect(pythonIsoTimestamp()).toMatch(pythonShape);
    for (const call of calls) {
      const theirs = Buffer.from(call.metadata[PUBLIC_KEY_HEADER] ?? "", "base64").toString();
      expectPythonPemLayout(theirs);
      expect(theirs.length).toBe(ours.length);
      expect(theirs.split("\n").map((line) => line.length)).toEqual(
        ours.split("\n").map((line) => line.length),
      );
      expect(call.metadata[TIMESTAMP_HEADER]).toMatch(pythonShape);
    }
    expectPythonPemLayout(ours);
  });
});

describe("createAuthSigner", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reuses a signed timestamp within the window, and the SuperLink still checks its freshness", async () => {
    const keys = createNodeKeyPair();
    // The clock moves only when the test says (a loaded machine could stall between two calls).
    vi.useFakeTimers({ toFake: ["Date"] });
    const signer = createAuthSigner(keys, 50);
    const first = signer();
    vi.advanceTimersByTime(49);
    expect(signer()).toBe(first);
    vi.advanceTimersByTime(11);
    expect(signer()[TIMESTAMP_HEADER]).not.toBe(first[TIMESTAMP_HEADER]);
    const get = (key: string) => first[key as keyof typeof first];
    expect(verifyAuthMetadata(get).publicKeyPem).toEqual(keys.publicKeyPem);
    // The second check of the same bytes is cached, but an old timestamp is still refused.
    expect(() => verifyAuthMetadata(get, new Date(Date.now() + 306_000))).toThrow(
      "Invalid timestamp",
    );
  });

  it("signs once a minute by default, so 1,000 idle nodes cost the SuperLink few ECDSA verifications", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const signer = createAuthSigner(createNodeKeyPair());
    const first = signer();
    vi.advanceTimersByTime(59_000); // heartbeats and held pulls come far more often than this
    expect(signer()).toBe(first);
    vi.advanceTimersByTime(1_000);
    expect(signer()).not.toBe(first);
  });
});
