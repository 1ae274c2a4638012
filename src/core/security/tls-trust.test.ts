import { describe, expect, it } from "vitest";
import { tlsTrustFailure } from "./tls-trust.ts";

const withCode = (message: string, code: string, cause?: unknown) =>
  Object.assign(new Error(message, { cause }), { code });

describe("tlsTrustFailure", () => {
  it("finds Node's certificate codes in an error's causes", () => {
    const socket = withCode("certificate signature failure", "CERT_SIGNATURE_FAILURE");
    expect(tlsTrustFailure(new Error("internal", { cause: socket }))).toBe("untrusted-peer");
    expect(tlsTrustFailure(withCode("x", "SELF_SIGNED_CERT_IN_CHAIN"))).toBe("untrusted-peer");
    expect(tlsTrustFailure(withCode("alert", "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"))).toBe(
      "refused-by-peer",
    );
  });

  it("is undefined for other failures", () => {
    expect(tlsTrustFailure(withCode("refused", "ECONNREFUSED"))).toBeUndefined();
    expect(tlsTrustFailure(new Error("no code"))).toBeUndefined();
    expect(tlsTrustFailure("a string")).toBeUndefined();
  });
});
