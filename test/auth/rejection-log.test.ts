import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { captureLogOutput, type LogCapture } from "../helpers/log-capture";

interface LogLine {
  message?: string;
  status?: number;
  code?: string;
  reason?: string;
  source?: string;
  requestId?: string;
  sourceIp?: string;
}

/** Starts a test bridge with `env` for the enclosing `describe` and captures the log output meanwhile. */
function useTestBridge(env: Record<string, string>): { bridge: () => LocalBridge; logs: () => LogCapture } {
  let bridge: LocalBridge | undefined;
  let logs: LogCapture | undefined;

  beforeAll(async () => {
    logs = captureLogOutput();
    bridge = await startTestBridge({ env });
  });

  afterAll(async () => {
    logs?.restore();
    await bridge?.close();
  });

  return { bridge: () => bridge!, logs: () => logs! };
}

/** Returns the `delivery rejected` lines of one request. */
function rejectionLines(logs: LogCapture, requestId: string): LogLine[] {
  return logs
    .text()
    .split("\n")
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => line.message === "delivery rejected");
}

describe("rejection log lines", () => {
  const { bridge, logs } = useTestBridge({
    BRIDGE_MAX_BODY_BYTES: "2048",
    BRIDGE_MAX_JSON_DEPTH: "8",
    BRIDGE_AUTH_SPLUNK: "path-token",
    BRIDGE_AUTH_SPLUNK_SECRETS: "env:TEST_REJECTION_SPLUNK_TOKEN",
    TEST_REJECTION_SPLUNK_TOKEN: "rejection-log-test-token",
  });

  // Each case: the request, and the status and reason its log line must carry.
  const cases: Array<{ name: string; source: string; body: string; contentType: string; status: number; reason: string }> = [
    { name: "missing path token", source: "splunk", body: "{}", contentType: "application/json", status: 401, reason: "credentials-missing" },
    { name: "body not JSON", source: "alertmanager", body: "not json", contentType: "application/json", status: 400, reason: "body-not-json" },
    { name: "body over the size limit", source: "alertmanager", body: `{"pad":"${"x".repeat(4096)}"}`, contentType: "application/json", status: 413, reason: "body-too-large" },
    { name: "unsupported content type", source: "alertmanager", body: "a,b", contentType: "text/csv", status: 415, reason: "content-type-unsupported" },
    { name: "nesting too deep", source: "alertmanager", body: `${"[".repeat(20)}${"]".repeat(20)}`, contentType: "application/json", status: 422, reason: "json-too-deep" },
    { name: "payload of another format", source: "alertmanager", body: '{"version":"3"}', contentType: "application/json", status: 422, reason: "payload-invalid" },
  ];

  it.each(cases)("$name logs reason $reason", async ({ source, body, contentType, status, reason }) => {
    const answer = await postAlerts(bridge().url, source, body, { "content-type": contentType });

    expect(answer.status).toBe(status);
    const lines = rejectionLines(logs(), answer.json.instance as string);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.status).toBe(status);
    expect(lines[0]!.source).toBe(source);
    expect(lines[0]!.reason).toBe(reason);
  });
});

describe("ip-not-allowed rejection", () => {
  const { bridge, logs } = useTestBridge({
    BRIDGE_AUTH_WAZUH: "bearer",
    BRIDGE_AUTH_WAZUH_SECRETS: "env:TEST_REJECTION_WAZUH_TOKEN",
    BRIDGE_AUTH_WAZUH_ALLOWED_IPS: "10.0.0.0/8",
    TEST_REJECTION_WAZUH_TOKEN: "rejection-log-test-wazuh-token",
  });

  it("logs the client address", async () => {
    const answer = await postAlerts(bridge().url, "wazuh", "{}", { "content-type": "application/json" });

    expect(answer.status).toBe(403);
    expect(answer.json.detail).toBe("authentication failed");
    expect(JSON.stringify(answer.json)).not.toContain("127.0.0.1");
    const lines = rejectionLines(logs(), answer.json.instance as string);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.reason).toBe("ip-not-allowed");
    expect(lines[0]!.sourceIp).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });
});
