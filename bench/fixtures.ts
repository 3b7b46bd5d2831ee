import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { planDelivery, type DefaultTarget, type Plan } from "../lib/ingest";
import { loadGenericSources } from "../lib/ingest-runtime";
import { findSource } from "../lib/sources/index";
import type { SourceAdapter } from "../lib/sources/types";
import { BENCH_IDS } from "./ids";

export { BENCH_IDS } from "./ids";

const FIXTURES_DIR = fileURLToPath(new URL("../test/fixtures/", import.meta.url));


/** Target of the benchmark's plans. */
export const BENCH_TARGET: DefaultTarget = {
  projectId: BENCH_IDS.projectId,
  workspaceId: BENCH_IDS.workspaceId,
  workflowId: BENCH_IDS.workflowId,
  dataclass: { id: BENCH_IDS.dataclassId, name: "Alert" },
};

/** Fixed receipt time, so every run plans the same alerts. */
export const BENCH_RECEIVED_AT = new Date("2026-01-15T08:30:00Z");

/** One sample delivery and the source that receives it. */
export interface DeliveryCase {
  fixture: string;
  source: string;
  /** The exact request body. */
  raw: string;
}

// Sample deliveries under test/fixtures/payloads and their sources. The Datadog default payload has
// no monitor id and is rejected, and the mapping config is not a delivery, so both are left out.
const CASES: readonly { fixture: string; source: string; body?: (text: string) => string }[] = [
  { fixture: "alertmanager-firing-group.json", source: "alertmanager" },
  { fixture: "alertmanager-firing-unicode.json", source: "alertmanager" },
  { fixture: "alertmanager-resolved.json", source: "alertmanager" },
  { fixture: "alertmanager-storm-500-truncated.json", source: "alertmanager" },
  { fixture: "grafana-firing.json", source: "grafana" },
  { fixture: "grafana-resolved.json", source: "grafana" },
  {
    fixture: "grafana-firing-hmac-request.json",
    source: "grafana",
    body: (text) => (JSON.parse(text) as { request: { body: string } }).request.body,
  },
  { fixture: "splunk-once.json", source: "splunk" },
  { fixture: "splunk-per-result-1.json", source: "splunk" },
  { fixture: "splunk-null-result.json", source: "splunk" },
  { fixture: "kibana-stack-rule-webhook.json", source: "elastic" },
  { fixture: "elastic-security-per-alert.json", source: "elastic" },
  { fixture: "elastic-security-summary-3-alerts.json", source: "elastic" },
  { fixture: "sentinel-incident-created.json", source: "sentinel" },
  { fixture: "guardduty-ssh-bruteforce.json", source: "guardduty" },
  { fixture: "guardduty-iam-credential-exfil.json", source: "guardduty" },
  { fixture: "securityhub-imported-single.json", source: "securityhub" },
  { fixture: "securityhub-imported-3-findings.json", source: "securityhub" },
  { fixture: "cloudwatch-eventbridge-alarm.json", source: "cloudwatch" },
  { fixture: "cloudwatch-sns-http-alarm.json", source: "cloudwatch" },
  { fixture: "cloudwatch-sns-lambda-alarm.json", source: "cloudwatch" },
  { fixture: "cloudwatch-sns-http-subscription-confirmation.json", source: "cloudwatch" },
  { fixture: "datadog-custom-triggered.json", source: "datadog" },
  { fixture: "wazuh-raw-alert-sshd-bruteforce.json", source: "wazuh" },
  { fixture: "wazuh-shuffle-style-wrapper.json", source: "wazuh" },
  { fixture: "ces-smn-alarm-notification.json", source: "huaweicloud-ces" },
  { fixture: "ces-smn-subscription-confirmation.json", source: "huaweicloud-ces" },
  { fixture: "generic-cef-like-json.json", source: "edge-waf" },
  { fixture: "generic-cef-line-in-json.json", source: "edge-fw" },
];

/** The 500-alert Alertmanager delivery that every storm figure uses. */
export const STORM_FIXTURE = "alertmanager-storm-500-truncated.json";

/** Reads a file under `test/fixtures/` as text. */
export function readFixtureText(relativePath: string): string {
  return readFileSync(FIXTURES_DIR + relativePath, "utf8");
}

/** Loads every sample delivery with its body text. */
export function loadDeliveryCases(): DeliveryCase[] {
  return CASES.map((entry) => {
    const text = readFixtureText(`payloads/${entry.fixture}`);
    return { fixture: entry.fixture, source: entry.source, raw: entry.body?.(text) ?? text };
  });
}

let genericSources: Record<string, SourceAdapter<unknown>> | undefined;

/** Returns the adapter of a built-in source or of the generic CEF sources in the test fixtures. */
export function adapterFor(source: string): SourceAdapter<unknown> {
  genericSources ??= loadGenericSources(
    ["edge-waf-cef-json-mapping.json", "edge-fw-cef-mapping.json"].map((file) => `${FIXTURES_DIR}generic/${file}`),
  );
  const adapter = findSource(source, genericSources);
  if (adapter === undefined) throw new Error(`benchmark fixture names unknown source ${source}`);
  return adapter;
}

/** Plans a delivery the way ingest does, with the benchmark's target and receipt time. */
export function planBenchDelivery(adapter: SourceAdapter<unknown>, body: unknown): Plan[] {
  return planDelivery({ adapter, body, receivedAt: BENCH_RECEIVED_AT }, { target: BENCH_TARGET, defaultSeverity: "Medium" });
}

/**
 * Builds `count` distinct alerts to start, cut from copies of the storm delivery whose fingerprints
 * carry `tag`, so that each run of a dispatch figure gets action instance ids of its own.
 */
export function stormJobs(count: number, tag: string): Plan["job"][] {
  const storm = JSON.parse(readFixtureText(`payloads/${STORM_FIXTURE}`)) as { alerts: { fingerprint: string }[]; truncatedAlerts: number };
  const adapter = adapterFor("alertmanager");
  const jobs: Plan["job"][] = [];
  for (let copy = 0; jobs.length < count; copy++) {
    const delivery = {
      ...storm,
      truncatedAlerts: 0,
      alerts: storm.alerts.map((alert) => ({ ...alert, fingerprint: `${alert.fingerprint}-${tag}-${copy}` })),
    };
    for (const plan of planBenchDelivery(adapter, delivery)) {
      if (plan.skipReason === undefined && jobs.length < count) jobs.push(plan.job);
    }
  }
  return jobs;
}
