import * as z from "zod";
import { SEVERITIES, type Alert, type Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { TRUNCATED_ALERTS_SEVERITY } from "./alertmanager";
import {
  handleStatusOf,
  networkFromFlatFields,
  parseSourceOptions,
  receivedTime,
  resourceFromTargetLabels,
  severityOf,
  text,
  thirdPartyDataSource,
  usersFromFlatFields,
} from "./common";
import { formatLabels } from "./labels";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { compact, mergeObjects, objectOf } from "./shapes";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "grafana";

/** Label values Grafana's "Test" button puts on the alert it sends through a contact point. */
const TEST_ALERT_LABELS = { alertname: "TestAlert", instance: "Grafana" } as const;

/**
 * Body of a Grafana unified alerting webhook contact point: an Alertmanager group with Grafana's
 * extra fields. Contact points with a custom payload template send another body and belong to
 * the generic source.
 *
 * @example
 * {"receiver":"soc-bridge-webhook","status":"firing","orgId":1,"externalURL":"https://grafana.example.com/",
 *  "alerts":[{"status":"firing","labels":{"alertname":"WAF blocked requests spike","severity":"high"},
 *  "startsAt":"2024-05-14T12:06:40+02:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"e1f2a3b4c5d6e7f8"}],
 *  "version":"1","truncatedAlerts":0}
 */
export const grafanaPayloadSchema = lazily(() => {
  const labelSetSchema = objectOf(z.string());
  const statusSchema = z.enum(["firing", "resolved"]);

  const grafanaAlertSchema = z.object({
    status: statusSchema,
    labels: labelSetSchema,
    annotations: labelSetSchema.optional(),
    startsAt: z.string().optional(),
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
    fingerprint: z.string().optional(),
    silenceURL: z.string().optional(),
    dashboardURL: z.string().optional(),
    panelURL: z.string().optional(),
    values: objectOf(z.number().nullable()).nullable().optional(),
    valueString: z.string().optional(),
    imageURL: z.string().optional(),
  });

  return z.object({
    receiver: z.string(),
    status: statusSchema,
    orgId: z.number().int().optional(),
    alerts: z.array(grafanaAlertSchema),
    groupLabels: labelSetSchema.optional(),
    commonLabels: labelSetSchema.optional(),
    commonAnnotations: labelSetSchema.optional(),
    externalURL: z.string(),
    version: z.literal("1", { error: 'only webhook payload version "1" is supported' }),
    groupKey: z.string().optional(),
    truncatedAlerts: z.number().int().min(0).optional(),
    title: z.string().optional(),
    state: z.string().optional(),
    message: z.string().optional(),
  });
});

export type GrafanaPayload = z.infer<ReturnType<typeof grafanaPayloadSchema>>;
type GrafanaAlert = GrafanaPayload["alerts"][number];

/** Settings of the Grafana source, passed as `NormalizeContext.options`. */
export const grafanaOptionsSchema = lazily(() =>
  z.strictObject({
    /**
     * Severity of an alert without a `severity` label. A label with a word the bridge does not
     * know goes to `NormalizeContext.unknownSeverity` instead.
     * @default "Medium"
     */
    defaultSeverity: z.enum(SEVERITIES).default("Medium"),
  }),
);
export type GrafanaOptions = z.input<ReturnType<typeof grafanaOptionsSchema>>;

/**
 * Grafana unified alerting, one alert per group member. Identity is the Grafana instance and
 * organization (scope), `fingerprint` (key) and `startsAt` (episode). The "Test" notification
 * of a contact point is returned with a `skipReason`.
 */
export const grafanaSource = {
  id: SOURCE_ID,
  displayName: "Grafana",
  get schema() {
    return grafanaPayloadSchema();
  },
  get optionsSchema() {
    return grafanaOptionsSchema();
  },
  normalize(payload: GrafanaPayload, context: NormalizeContext): NormalizedAlert[] {
    const { defaultSeverity } = parseSourceOptions(grafanaOptionsSchema(), context.options, SOURCE_ID);
    if (payload.orgId === undefined) return missingIdentity(SOURCE_ID, "orgId");
    const scope = `${payload.orgId}@${payload.externalURL}`;

    const alerts = payload.alerts.map((alert, index) =>
      normalizeAlert({ payload, scope, alert, index, defaultSeverity }, context),
    );
    const dropped = payload.truncatedAlerts ?? 0;
    return dropped === 0 ? alerts : [...alerts, truncationAlert(payload, scope, alerts, context)];
  },
} satisfies SourceAdapter<GrafanaPayload>;

interface AlertInput {
  payload: GrafanaPayload;
  scope: string;
  alert: GrafanaAlert;
  index: number;
  defaultSeverity: Severity;
}

function normalizeAlert({ payload, scope, alert, index, defaultSeverity }: AlertInput, context: NormalizeContext): NormalizedAlert {
  const at = `alerts[${index}]`;
  const key = text(alert.fingerprint) ?? missingIdentity(SOURCE_ID, `${at}.fingerprint`);
  const startsAt =
    normalizeTime(alert.startsAt, { field: `${at}.startsAt` }) ?? missingIdentity(SOURCE_ID, `${at}.startsAt`);
  const endsAt = normalizeTime(alert.endsAt, { field: `${at}.endsAt` });
  const labels = alert.labels;
  const annotations = alert.annotations ?? {};
  const status = alert.status;

  const content: Alert = compact({
    title: text(annotations.summary) ?? text(labels.alertname) ?? `Grafana alert ${key}`,
    description: describe(alert, annotations),
    // Many rules set no severity label, so a missing label takes the default without a log line.
    severity: text(labels.severity) === undefined ? defaultSeverity : severityOf(labels.severity, `${at}.labels.severity`, context),
    first_observed_time: startsAt,
    last_observed_time: status === "resolved" ? (endsAt ?? receivedTime(context)) : receivedTime(context),
    create_time: receivedTime(context),
    data_source: thirdPartyDataSource({
      product_name: "Grafana",
      company_name: "Grafana Labs",
      product_feature: text(payload.receiver),
      product_module: text(labels.grafana_folder),
    }),
    alert_type: { category: text(labels.category), alert_type: text(labels.alertname) },
    network_list: networkFromFlatFields(labels),
    resource_list: resourceFromTargetLabels(labels, SOURCE_ID),
    user_info: usersFromFlatFields(labels),
    labels: formatLabels(mergeObjects(labels, { orgId: String(payload.orgId) })),
    remediation: { url: text(annotations.runbook_url) },
    source_url: text(alert.generatorURL),
    count: 1,
    handle_status: handleStatusOf(status),
    verification_state: "Unknown",
  });

  const normalized: NormalizedAlert = { source: SOURCE_ID, scope, key, episode: startsAt, status, content };
  if (isTestAlert(labels)) normalized.skipReason = "Grafana contact point test notification (alertname=TestAlert)";
  return normalized;
}

function isTestAlert(labels: Readonly<Record<string, string>>): boolean {
  return labels.alertname === TEST_ALERT_LABELS.alertname && labels.instance === TEST_ALERT_LABELS.instance;
}

// Grafana sends the evaluated values and its links beside the alert. They go into the description
// because SecMaster has no field for them.
function describe(alert: GrafanaAlert, annotations: Readonly<Record<string, string>>): string | undefined {
  const lines = [
    text(annotations.description),
    prefixed("Values", alert.valueString),
    prefixed("Dashboard", alert.dashboardURL),
    prefixed("Panel", alert.panelURL),
    prefixed("Silence", alert.silenceURL),
    prefixed("Image", alert.imageURL),
  ].filter((line): line is string => line !== undefined);
  return lines.length === 0 ? undefined : lines.join("\n");
}

function prefixed(name: string, value: string | undefined): string | undefined {
  const trimmed = text(value);
  return trimmed === undefined ? undefined : `${name}: ${trimmed}`;
}

/**
 * Grafana drops group members beyond the contact point's `maxAlerts` and reports how many in
 * `truncatedAlerts`, so those alerts never arrive. This raises one alert about the loss, keyed on
 * the group with the earliest `startsAt` of the delivered alerts as episode, so repeats of the
 * same group state map to one playbook run. It follows the group's status.
 */
function truncationAlert(
  payload: GrafanaPayload,
  scope: string,
  delivered: readonly NormalizedAlert[],
  context: NormalizeContext,
): NormalizedAlert {
  const groupKey = text(payload.groupKey) ?? missingIdentity(SOURCE_ID, "groupKey");
  const episode = delivered.map((alert) => alert.episode).sort()[0] ?? missingIdentity(SOURCE_ID, "alerts[0].startsAt");
  const dropped = payload.truncatedAlerts ?? 0;
  const status = payload.status;

  const content: Alert = compact({
    title: `Grafana dropped ${dropped} alerts of group ${groupKey}`,
    description:
      `The contact point sent ${delivered.length} alerts of this group and dropped ${dropped} more because of its ` +
      "maxAlerts setting. The dropped alerts reach no playbook: check them in Grafana.",
    severity: TRUNCATED_ALERTS_SEVERITY,
    first_observed_time: episode,
    last_observed_time: receivedTime(context),
    create_time: receivedTime(context),
    data_source: thirdPartyDataSource({
      product_name: "Grafana",
      company_name: "Grafana Labs",
      product_feature: text(payload.receiver),
      product_module: text(payload.commonLabels?.grafana_folder),
    }),
    labels: formatLabels(mergeObjects(payload.groupLabels ?? {}, { orgId: String(payload.orgId) })),
    source_url: text(payload.externalURL),
    count: 1,
    handle_status: handleStatusOf(status),
    verification_state: "Unknown",
  });

  return { source: SOURCE_ID, scope, key: `truncated:${groupKey}`, episode, status, content };
}
