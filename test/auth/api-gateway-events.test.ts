import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngestHandler } from "../../functions/ingest";
import type { LocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { startTestBridge } from "../helpers/local-bridge";
import { TEST_SECRETS } from "../helpers/test-secrets";

// API Gateway events built by hand, for the cases a real socket cannot produce: a body marked
// isBase64Encoded, a missing body, and one header name in two spellings.
function event(headers: Record<string, string>, body: string | undefined, isBase64Encoded: boolean): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /v1/alerts/{source}",
    rawPath: "/v1/alerts/alertmanager",
    rawQueryString: "",
    headers,
    pathParameters: { source: "alertmanager" },
    requestContext: {
      accountId: "000000000000",
      apiId: "test",
      domainName: "test",
      domainPrefix: "test",
      http: { method: "POST", path: "/v1/alerts/alertmanager", protocol: "HTTP/1.1", sourceIp: "198.51.100.7", userAgent: "test" },
      requestId: "r1",
      routeKey: "POST /v1/alerts/{source}",
      stage: "$default",
      time: "05/Jan/2026:10:00:00 +0000",
      timeEpoch: 1767607200000,
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded,
  };
}

const context = {
  awsRequestId: "00000000-0000-4000-8000-000000000001",
  functionName: "ingest",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:000000000000:function:ingest",
  memoryLimitInMB: "512",
  logGroupName: "test",
  logStreamName: "test",
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

describe("ingest handler with API Gateway events", () => {
  let bridge: LocalBridge;
  let handler: ReturnType<typeof createIngestHandler>;
  const token = TEST_SECRETS.alertmanagerCurrent;

  beforeAll(async () => {
    bridge = await startTestBridge({
      env: { BRIDGE_AUTH_ALERTMANAGER: "bearer", BRIDGE_AUTH_ALERTMANAGER_SECRETS: "env:AM_TOKEN", AM_TOKEN: token },
    });
    handler = createIngestHandler(() => bridge.runtime);
  });

  afterAll(async () => {
    await bridge.close();
  });

  it("decodes a base64 body before checking it", async () => {
    const body = Buffer.from(readFixture("payloads/alertmanager-firing-group.json")).toString("base64");

    const result = await handler(event({ AUTHORIZATION: `Bearer ${token}`, "Content-Type": "application/json" }, body, true), context);

    expect(result.statusCode).toBe(200);
  });

  it("rejects a body marked base64 that is not", async () => {
    const result = await handler(event({ authorization: `Bearer ${token}` }, "%%%not-base64%%%", true), context);

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!).type).toBe("urn:secmaster-bridge:problem:body-not-base64");
  });

  it("rejects one header in two spellings", async () => {
    const headers = { Authorization: `Bearer ${token}`, authorization: "Bearer other-token" };

    const result = await handler(event(headers, readFixture("payloads/alertmanager-firing-group.json"), false), context);

    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body!).detail).toBe("authentication failed");
  });

  it("rejects a missing body", async () => {
    const result = await handler(event({ authorization: `Bearer ${token}` }, undefined, false), context);

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!).type).toBe("urn:secmaster-bridge:problem:body-empty");
  });
});
