import { describe, expect, it } from "vitest";
import { readFixture, readJsonFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

interface Case {
  fixture: string;
  source: string;
  /** Instances the emulator must hold after the first post. */
  created: number;
  /** Results reported as skipped (resolved alerts, test notifications, confirmations). */
  skipped: number;
  /** Body to post when it is not the fixture file itself. */
  body?: () => string;
}

// Counts come from reading each sample delivery: one instance per firing alert, finding or alarm.
const CASES: Case[] = [
  { fixture: "alertmanager-firing-group.json", source: "alertmanager", created: 3, skipped: 0 },
  { fixture: "alertmanager-firing-unicode.json", source: "alertmanager", created: 1, skipped: 0 },
  { fixture: "alertmanager-resolved.json", source: "alertmanager", created: 0, skipped: 1 },
  // 500 delivered alerts plus one alert that reports the 1,240 alerts Alertmanager dropped.
  { fixture: "alertmanager-storm-500-truncated.json", source: "alertmanager", created: 501, skipped: 0 },
  { fixture: "grafana-firing.json", source: "grafana", created: 2, skipped: 0 },
  { fixture: "grafana-resolved.json", source: "grafana", created: 0, skipped: 1 },
  {
    fixture: "grafana-firing-hmac-request.json",
    source: "grafana",
    created: 2,
    skipped: 0,
    body: () => readJsonFixture<{ request: { body: string } }>("payloads/grafana-firing-hmac-request.json").request.body,
  },
  { fixture: "splunk-once.json", source: "splunk", created: 1, skipped: 0 },
  { fixture: "splunk-per-result-1.json", source: "splunk", created: 1, skipped: 0 },
  // No search name and no result row: an ad-hoc or test trigger.
  { fixture: "splunk-null-result.json", source: "splunk", created: 0, skipped: 1 },
  { fixture: "kibana-stack-rule-webhook.json", source: "elastic", created: 1, skipped: 0 },
  { fixture: "elastic-security-per-alert.json", source: "elastic", created: 1, skipped: 0 },
  { fixture: "elastic-security-summary-3-alerts.json", source: "elastic", created: 3, skipped: 0 },
  { fixture: "sentinel-incident-created.json", source: "sentinel", created: 1, skipped: 0 },
  { fixture: "guardduty-ssh-bruteforce.json", source: "guardduty", created: 1, skipped: 0 },
  { fixture: "guardduty-iam-credential-exfil.json", source: "guardduty", created: 1, skipped: 0 },
  { fixture: "securityhub-imported-single.json", source: "securityhub", created: 1, skipped: 0 },
  // The third finding's workflow status is RESOLVED.
  { fixture: "securityhub-imported-3-findings.json", source: "securityhub", created: 2, skipped: 1 },
  { fixture: "cloudwatch-eventbridge-alarm.json", source: "cloudwatch", created: 1, skipped: 0 },
  { fixture: "cloudwatch-sns-http-alarm.json", source: "cloudwatch", created: 1, skipped: 0 },
  { fixture: "cloudwatch-sns-lambda-alarm.json", source: "cloudwatch", created: 1, skipped: 0 },
  { fixture: "cloudwatch-sns-http-subscription-confirmation.json", source: "cloudwatch", created: 0, skipped: 1 },
  { fixture: "datadog-custom-triggered.json", source: "datadog", created: 1, skipped: 0 },
  { fixture: "wazuh-raw-alert-sshd-bruteforce.json", source: "wazuh", created: 1, skipped: 0 },
  { fixture: "wazuh-shuffle-style-wrapper.json", source: "wazuh", created: 1, skipped: 0 },
  { fixture: "ces-smn-alarm-notification.json", source: "huaweicloud-ces", created: 1, skipped: 0 },
  { fixture: "ces-smn-subscription-confirmation.json", source: "huaweicloud-ces", created: 0, skipped: 1 },
  { fixture: "generic-cef-like-json.json", source: "edge-waf", created: 1, skipped: 0 },
  { fixture: "generic-cef-line-in-json.json", source: "edge-fw", created: 1, skipped: 0 },
];

const MAPPINGS = ["edge-waf-cef-json-mapping.json", "edge-fw-cef-mapping.json"]
  .map((file) => new URL(`../fixtures/generic/${file}`, import.meta.url).pathname)
  .join(",");

describe("every sample delivery through the local bridge", () => {
  it("rejects the Datadog default payload, which has no monitor id", async () => {
    const bridge = await startTestBridge({ inMemoryStore: true });
    try {
      const answer = await postAlerts(bridge.url, "datadog", readFixture("payloads/datadog-default-triggered.json"));

      expect(answer.status).toBe(422);
      expect(answer.json.code).toBe("BRIDGE.IDENTITY_MISSING");
      expect(bridge.emulator!.instances()).toHaveLength(0);
    } finally {
      await bridge.close();
    }
  });

  it("names no generic source id to an unknown source", async () => {
    const bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_GENERIC_MAPPINGS: MAPPINGS } });
    try {
      const answer = await postAlerts(bridge.url, "no-such-tool", "{}");

      expect(answer.status).toBe(404);
      expect(answer.json.fix).not.toContain("edge-waf");
      expect(answer.json.fix).not.toContain("edge-fw");
      expect(answer.json.fix).toContain("BRIDGE_GENERIC_MAPPINGS");
    } finally {
      await bridge.close();
    }
  });

  it.each(CASES)("$fixture creates $created and skips $skipped", async (testCase) => {
    const bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_GENERIC_MAPPINGS: MAPPINGS } });
    try {
      const body = testCase.body?.() ?? readFixture(`payloads/${testCase.fixture}`);

      const first = await postAlerts(bridge.url, testCase.source, body);
      const second = await postAlerts(bridge.url, testCase.source, body);

      const statuses = (answer: typeof first) => answer.json.results.map((result: { status: string }) => result.status);
      expect(first.status).toBe(200);
      expect(statuses(first).filter((status: string) => status === "created")).toHaveLength(testCase.created);
      expect(statuses(first).filter((status: string) => status === "skipped")).toHaveLength(testCase.skipped);
      expect(second.status).toBe(200);
      expect(statuses(second).filter((status: string) => status === "created")).toHaveLength(0);
      expect(statuses(second).filter((status: string) => status === "duplicate")).toHaveLength(testCase.created);
      expect(bridge.emulator!.instances()).toHaveLength(testCase.created);
    } finally {
      await bridge.close();
    }
  });
});
