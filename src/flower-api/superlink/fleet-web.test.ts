import { afterEach, describe, expect, it } from "vitest";
import { type SuperLink, startSuperLink } from "./superlink.ts";

const local = { fleetApiAddress: "127.0.0.1:0", controlApiAddress: "127.0.0.1:0" };
const ALLOWED = "http://127.0.0.1:8080";

describe("the SuperLink's Fleet API for browsers (--web-address)", () => {
  let superlink: SuperLink | undefined;
  afterEach(async () => {
    await superlink?.close();
    superlink = undefined;
  });

  it("answers a preflight from an allowed origin and refuses any other origin with 403", async () => {
    superlink = await startSuperLink({
      ...local,
      webAddress: "127.0.0.1:0",
      webOrigins: [ALLOWED],
    });
    const url = `http://127.0.0.1:${superlink.webPort}/flwr.proto.Fleet/RegisterNode`;
    const preflight = (origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "flwr-public-key-bin",
        },
      });
    const allowed = await preflight(ALLOWED);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(allowed.headers.get("access-control-allow-headers")).toContain("flwr-signature-bin");
    const other = await preflight("http://127.0.0.1:8081");
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const post = await fetch(url, {
      method: "POST",
      headers: { origin: "http://evil.test", "content-type": "application/proto" },
      body: new Uint8Array(),
    });
    expect(post.status).toBe(403);
    expect(await post.text()).toMatch(/origin http:\/\/evil\.test is not allowed/);
  });

  it("checks its own calls like the gRPC port: an unsigned call is unauthenticated", async () => {
    superlink = await startSuperLink({
      ...local,
      webAddress: "127.0.0.1:0",
      webOrigins: [ALLOWED],
    });
    const response = await fetch(
      `http://127.0.0.1:${superlink.webPort}/flwr.proto.Fleet/RegisterNode`,
      {
        method: "POST",
        headers: { origin: ALLOWED, "content-type": "application/proto" },
        body: new Uint8Array(),
      },
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      code: "unauthenticated",
      message: "Missing authentication metadata",
    });
  });

  it("refuses a configuration that would serve nobody or be ignored", async () => {
    await expect(startSuperLink({ ...local, webAddress: "127.0.0.1:0" })).rejects.toThrow(
      /needs at least one allowed page origin \(--web-origin\)/,
    );
    await expect(startSuperLink({ ...local, webOrigins: [ALLOWED] })).rejects.toThrow(
      /--web-origin needs --web-address/,
    );
    await expect(
      startSuperLink({ ...local, webAddress: "127.0.0.1:0", webOrigins: [`${ALLOWED}/`] }),
    ).rejects.toThrow(/is not an origin such as/);
  });
});
