import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AuthenticationError } from "../../lib/auth/rejections";
import { verifyRawRequest, type RawRequest } from "../../lib/auth/schemes";
import { parseAuthSettings, type SourceAuthSettings } from "../../lib/auth/settings";
import { readJsonFixture } from "../helpers/fixtures";

const vector = readJsonFixture<{
  secret: string;
  request: { headers: Record<string, string>; body: string };
  expected: { signature_with_timestamp: string; signature_body_only: string };
}>("auth/grafana-firing-hmac-request.json");
const VECTOR_TIME_MS = 1715681230_000;

function source(env: Record<string, string>): SourceAuthSettings {
  const issues: string[] = [];
  const settings = parseAuthSettings(env, { requireAuth: true, secretsTtlSeconds: 300 }, issues);
  expect(issues).toEqual([]);
  return Object.values(settings.sources)[0]!;
}

function reasonOf(settings: SourceAuthSettings, request: RawRequest, secrets: string[], nowMs = VECTOR_TIME_MS): string | undefined {
  try {
    verifyRawRequest(settings, request, secrets, nowMs);
  } catch (error) {
    if (error instanceof AuthenticationError) return error.reason;
    throw error;
  }
  return undefined;
}

const body = Buffer.from(vector.request.body, "utf8");

describe("Grafana HMAC", () => {
  const withTimestamp = source({ BRIDGE_AUTH_GRAFANA: "grafana-hmac", BRIDGE_AUTH_GRAFANA_SECRETS: "ssm:/g", BRIDGE_AUTH_GRAFANA_TIMESTAMP_HEADER: "X-Grafana-Alerting-Timestamp" });
  const bodyOnly = source({ BRIDGE_AUTH_GRAFANA: "grafana-hmac", BRIDGE_AUTH_GRAFANA_SECRETS: "ssm:/g" });

  it("accepts the shared vector with its timestamp", () => {
    expect(reasonOf(withTimestamp, { headers: vector.request.headers, query: undefined, body }, [vector.secret])).toBeUndefined();
  });

  it("accepts the body-only signature", () => {
    const headers = { "X-Grafana-Alerting-Signature": vector.expected.signature_body_only };

    expect(reasonOf(bodyOnly, { headers, query: undefined, body }, [vector.secret])).toBeUndefined();
  });

  it("accepts the window edge and rejects past it", () => {
    const request = { headers: vector.request.headers, query: undefined, body };

    expect(reasonOf(withTimestamp, request, [vector.secret], VECTOR_TIME_MS + 300_000)).toBeUndefined();
    expect(reasonOf(withTimestamp, request, [vector.secret], VECTOR_TIME_MS + 301_000)).toBe("timestamp-outside-window");
    expect(reasonOf(withTimestamp, request, [vector.secret], VECTOR_TIME_MS - 301_000)).toBe("timestamp-outside-window");
  });

  it("accepts either secret during rotation", () => {
    const request = { headers: vector.request.headers, query: undefined, body };

    expect(reasonOf(withTimestamp, request, ["next-secret", vector.secret])).toBeUndefined();
    expect(reasonOf(withTimestamp, request, ["next-secret"])).toBe("signature-mismatch");
    expect(reasonOf(withTimestamp, request, [])).toBe("signature-mismatch");
  });
});

describe("generic HMAC", () => {
  it("verifies base64 over timestamp.body with a sha256= prefix", () => {
    const settings = source({
      BRIDGE_AUTH_EDGE_WAF: "hmac",
      BRIDGE_AUTH_EDGE_WAF_SECRETS: "ssm:/w",
      BRIDGE_AUTH_EDGE_WAF_SIGNED_CONTENT: "timestamp.body",
      BRIDGE_AUTH_EDGE_WAF_SIGNATURE_ENCODING: "base64",
    });
    const signature = createHmac("sha256", "waf-key").update('1715681230.{"id":1}').digest("base64");
    const headers = { "x-signature-timestamp": "1715681230", "x-signature": `sha256=${signature}` };

    expect(reasonOf(settings, { headers, query: undefined, body: Buffer.from('{"id":1}') }, ["waf-key"])).toBeUndefined();
    expect(reasonOf(settings, { headers, query: undefined, body: Buffer.from('{"id":2}') }, ["waf-key"])).toBe("signature-mismatch");
  });
});

describe("tokens", () => {
  const bearer = source({ BRIDGE_AUTH_ALERTMANAGER: "bearer", BRIDGE_AUTH_ALERTMANAGER_SECRETS: "ssm:/a" });
  const apiKey = source({ BRIDGE_AUTH_GUARDDUTY: "bearer", BRIDGE_AUTH_GUARDDUTY_SECRETS: "ssm:/a", BRIDGE_AUTH_GUARDDUTY_HEADER: "X-Api-Key" });
  const basic = source({ BRIDGE_AUTH_SENTINEL: "basic", BRIDGE_AUTH_SENTINEL_SECRETS: "ssm:/b" });
  const pathToken = source({ BRIDGE_AUTH_SPLUNK: "path-token", BRIDGE_AUTH_SPLUNK_SECRETS: "ssm:/s" });
  const empty = Buffer.alloc(0);

  it("checks bearer tokens", () => {
    expect(reasonOf(bearer, { headers: { Authorization: "Bearer t1" }, query: undefined, body: empty }, ["t1"])).toBeUndefined();
    expect(reasonOf(bearer, { headers: { authorization: "Bearer t2" }, query: undefined, body: empty }, ["t1"])).toBe("credentials-mismatch");
    expect(reasonOf(bearer, { headers: { authorization: "t1" }, query: undefined, body: empty }, ["t1"])).toBe("credentials-missing");
  });

  it("rejects a header sent in two spellings", () => {
    const headers = { Authorization: "Bearer t1", authorization: "Bearer t2" };

    expect(reasonOf(bearer, { headers, query: undefined, body: empty }, ["t1"])).toBe("credentials-missing");
  });

  it("checks a custom API key header", () => {
    expect(reasonOf(apiKey, { headers: { "x-api-key": "k1" }, query: undefined, body: empty }, ["k1"])).toBeUndefined();
    expect(reasonOf(apiKey, { headers: { authorization: "Bearer k1" }, query: undefined, body: empty }, ["k1"])).toBe("credentials-missing");
  });

  it("checks Basic credentials", () => {
    const header = `Basic ${Buffer.from("soc:pa:ss").toString("base64")}`;

    expect(reasonOf(basic, { headers: { authorization: header }, query: undefined, body: empty }, ["soc:pa:ss"])).toBeUndefined();
    expect(reasonOf(basic, { headers: { authorization: header }, query: undefined, body: empty }, ["soc:other"])).toBe("credentials-mismatch");
  });

  it("checks the path token", () => {
    expect(reasonOf(pathToken, { headers: {}, query: { token: "p1" }, body: empty }, ["p1"])).toBeUndefined();
    expect(reasonOf(pathToken, { headers: {}, query: { token: "p2" }, body: empty }, ["p1"])).toBe("credentials-mismatch");
    expect(reasonOf(pathToken, { headers: {}, query: undefined, body: empty }, ["p1"])).toBe("credentials-missing");
  });
});
