import * as z from "zod";
import { SEVERITIES, SOURCE_TYPE, type Alert, type AlertNetwork, type AlertResource, type Severity } from "../alert/schema";
import { severityFromLabel } from "../alert/severity";
import { normalizeTime } from "../alert/time";
import { parseSourceOptions, receivedTime } from "./common";
import { formatLabels } from "./labels";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { objectOf } from "./shapes";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "alertmanager";

/**
 * Zod schema of the Alertmanager webhook payload, version 4. Other versions are rejected at
 * `version`. Unknown keys are accepted and dropped, so a newer Alertmanager that adds a field
 * still parses.
 *
 * @example
 * ```json
 * { "version": "4", "groupKey": "{}:{alertname=\"X\"}", "truncatedAlerts": 0, "status": "firing",
 *   "receiver": "soc-bridge", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
 *   "externalURL": "https://alertmanager.example.com",
 *   "alerts": [{ "status": "firing", "labels": { "alertname": "X", "severity": "critical" },
 *     "annotations": { "summary": "…" }, "startsAt": "2024-05-14T08:02:11.482Z",
 *     "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "https://prometheus.example.com/graph",
 *     "fingerprint": "5b0f5b2d5f635dca" }] }
 * ```
 */
export const alertmanagerPayloadSchema = lazily(() => {
  const labelSetSchema = objectOf(z.string()).default({});
  const alertSchema = z.object({
    status: z.enum(["firing", "resolved"]),
    labels: labelSetSchema,
    annotations: labelSetSchema,
    startsAt: z.string(),
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
    // Optional here so that a missing fingerprint is reported as a missing identity.
    fingerprint: z.string().optional(),
  });

  return z.object({
    version: z.literal("4", { error: 'only webhook payload version "4" is supported' }),
    groupKey: z.string(),
    truncatedAlerts: z.number().int().min(0).default(0),
    status: z.enum(["firing", "resolved"]),
    receiver: z.string(),
    groupLabels: labelSetSchema,
    commonLabels: labelSetSchema,
    commonAnnotations: labelSetSchema,
    externalURL: z.string().optional(),
    alerts: z.array(alertSchema),
  });
});

/** A parsed Alertmanager webhook delivery. */
export type AlertmanagerPayload = z.output<ReturnType<typeof alertmanagerPayloadSchema>>;
type AlertmanagerAlert = AlertmanagerPayload["alerts"][number];

/** Settings of the Alertmanager source, passed as `NormalizeContext.options`. */
export const alertmanagerOptionsSchema = lazily(() =>
  z.strictObject({
    /**
     * Severity of an alert without a `severity` label, such as the default of the route that
     * delivered it. A label with a word the bridge does not know goes to
     * `NormalizeContext.unknownSeverity` instead.
     * @default "Medium"
     */
    defaultSeverity: z.enum(SEVERITIES).default("Medium"),
  }),
);
export type AlertmanagerOptions = z.input<ReturnType<typeof alertmanagerOptionsSchema>>;
type ParsedOptions = z.output<ReturnType<typeof alertmanagerOptionsSchema>>;

/** Severity of the synthetic alert that reports alerts dropped by `max_alerts`. */
export const TRUNCATED_ALERTS_SEVERITY: Severity = "High";

/**
 * Prometheus Alertmanager webhook receiver (`webhook_configs`). Each alert of the group becomes
 * one alert with key `fingerprint` and episode `startsAt`, so repeats of a group share ids and
 * a new firing of the same series gets a new one. Alertmanager has no tenant, so the scope is
 * empty. A delivery with `truncatedAlerts > 0` gets one more, synthetic alert that reports the
 * dropped alerts.
 */
export const alertmanagerSource = {
  id: SOURCE_ID,
  displayName: "Prometheus Alertmanager",
  get schema() {
    return alertmanagerPayloadSchema();
  },
  get optionsSchema() {
    return alertmanagerOptionsSchema();
  },
  normalize(payload, context) {
    const options = parseOptions(context.options);
    const alerts = payload.alerts.map((alert, index) => normalizeAlert(alert, index, payload, options, context));
    if (payload.truncatedAlerts > 0) alerts.push(truncationAlert(payload, alerts, context));
    return alerts;
  },
} satisfies SourceAdapter<AlertmanagerPayload>;

function parseOptions(options: unknown): ParsedOptions {
  return parseSourceOptions(alertmanagerOptionsSchema(), options, SOURCE_ID);
}

function normalizeAlert(
  alert: AlertmanagerAlert,
  index: number,
  payload: AlertmanagerPayload,
  options: ParsedOptions,
  context: NormalizeContext,
): NormalizedAlert {
  const at = (field: string) => `alerts[${index}].${field}`;
  const key = nonEmpty(alert.fingerprint) ?? missingIdentity(SOURCE_ID, at("fingerprint"));
  const startsAt = normalizeTime(alert.startsAt, { field: at("startsAt") }) ?? missingIdentity(SOURCE_ID, at("startsAt"));
  const receivedAt = receivedTime(context);
  const { labels, annotations } = alert;

  const endsAt = alert.status === "resolved" ? normalizeTime(alert.endsAt, { field: at("endsAt") }) : undefined;
  const content: Alert = {
    title: nonEmpty(annotations.summary) ?? nonEmpty(labels.alertname) ?? `Alertmanager alert ${key}`,
    description: nonEmpty(annotations.description),
    severity: severityOf(labels.severity, at("labels.severity"), options, context),
    first_observed_time: startsAt,
    last_observed_time: endsAt ?? receivedAt,
    create_time: receivedAt,
    data_source: dataSource(payload.receiver, labels.job),
    alert_type: nonEmpty(labels.category) === undefined ? undefined : { category: labels.category },
    network_list: networkFromLabels(labels),
    resource_list: resourceFromLabels(labels),
    labels: Object.keys(labels).length === 0 ? undefined : formatLabels(labels),
    remediation: nonEmpty(annotations.runbook_url) === undefined ? undefined : { url: annotations.runbook_url },
    source_url: nonEmpty(alert.generatorURL),
    handle_status: handleStatus(alert.status),
    verification_state: "Unknown",
    count: 1,
  };
  return { source: SOURCE_ID, scope: "", key, episode: startsAt, status: alert.status, content: withoutUndefined(content) };
}

/**
 * Maps the `severity` label. A missing or empty label takes the configured default without a
 * log line, because many rules set no severity. A word outside `LABEL_SEVERITY_MAP` goes to
 * `context.unknownSeverity`, which logs it.
 */
function severityOf(
  value: string | undefined,
  field: string,
  options: ParsedOptions,
  context: NormalizeContext,
): Severity {
  if (nonEmpty(value) === undefined) return options.defaultSeverity;
  return severityFromLabel(value as string) ?? context.unknownSeverity(field, value);
}

function dataSource(receiver: string, job: string | undefined): NonNullable<Alert["data_source"]> {
  return withoutUndefined({
    source_type: SOURCE_TYPE.thirdParty,
    product_name: "Alertmanager",
    company_name: "Prometheus",
    product_feature: nonEmpty(unquoteReceiver(receiver)),
    product_module: nonEmpty(job),
  });
}

/**
 * Removes the regular-expression quoting Alertmanager applies to the receiver name in
 * webhook payloads (`soc\.bridge` becomes `soc.bridge`).
 */
export function unquoteReceiver(receiver: string): string {
  return receiver.replace(/\\([\\.+*?()|[\]{}^$])/g, "$1");
}

/**
 * Builds one `network_list` entry from the `src_ip`, `dest_ip`, `src_port` and `dest_port`
 * labels. A port label that is not a whole number from 0 to 65535 is left out of the entry,
 * but it still appears in `labels`.
 */
function networkFromLabels(labels: Readonly<Record<string, string>>): AlertNetwork[] | undefined {
  const sourcePort = portOf(labels.src_port);
  const destinationPort = portOf(labels.dest_port);
  const entry = withoutUndefined<AlertNetwork>({
    src_ip: nonEmpty(labels.src_ip),
    src_port: sourcePort,
    dest_ip: nonEmpty(labels.dest_ip),
    dest_port: destinationPort === undefined ? undefined : String(destinationPort),
  });
  return Object.keys(entry).length === 0 ? undefined : [entry];
}

function portOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value.trim())) return undefined;
  const port = Number(value);
  return port <= 65535 ? port : undefined;
}

// Most specific first: a pod alert from kube-state-metrics has the exporter as `instance`.
const RESOURCE_LABELS = ["pod", "instance", "namespace", "cluster"] as const;

/**
 * Builds one `resource_list` entry from the `pod`, `instance`, `namespace` and `cluster`
 * labels. `name` is the most specific label present and `type` names that label. `tags`
 * contains those of the four that are present, and `region_id` comes from a `region` label.
 */
function resourceFromLabels(labels: Readonly<Record<string, string>>): AlertResource[] | undefined {
  const present = RESOURCE_LABELS.filter((label) => nonEmpty(labels[label]) !== undefined);
  const [mostSpecific] = present;
  if (mostSpecific === undefined) return undefined;

  const tags: Record<string, string> = {};
  for (const label of present) tags[label] = labels[label] as string;
  return [
    withoutUndefined<AlertResource>({
      name: labels[mostSpecific],
      type: mostSpecific,
      provider: "prometheus",
      region_id: nonEmpty(labels.region),
      tags,
    }),
  ];
}

/**
 * Builds the alert that reports `truncatedAlerts`: the alerts Alertmanager dropped because of
 * `max_alerts`, which the bridge will never see. It is keyed on the group, with the earliest
 * `startsAt` of the delivered alerts as episode, and follows the group's status.
 */
function truncationAlert(payload: AlertmanagerPayload, delivered: readonly NormalizedAlert[], context: NormalizeContext): NormalizedAlert {
  const groupKey = nonEmpty(payload.groupKey) ?? missingIdentity(SOURCE_ID, "groupKey");
  const episode = delivered.map((alert) => alert.episode).sort()[0] ?? missingIdentity(SOURCE_ID, "alerts[0].startsAt");
  const receivedAt = receivedTime(context);
  const count = payload.truncatedAlerts;

  const content: Alert = {
    title: `Alertmanager dropped ${count} alerts of group ${groupKey}`,
    description:
      `Alertmanager sent ${delivered.length} alerts of this group and dropped ${count} more because of the ` +
      "receiver's max_alerts setting. The dropped alerts reach no playbook: check them in Alertmanager.",
    severity: TRUNCATED_ALERTS_SEVERITY,
    first_observed_time: episode,
    last_observed_time: receivedAt,
    create_time: receivedAt,
    data_source: dataSource(payload.receiver, payload.commonLabels.job),
    labels: Object.keys(payload.groupLabels).length === 0 ? undefined : formatLabels(payload.groupLabels),
    source_url: nonEmpty(payload.externalURL),
    handle_status: handleStatus(payload.status),
    verification_state: "Unknown",
    count: 1,
  };
  return {
    source: SOURCE_ID,
    scope: "",
    key: `truncated:${groupKey}`,
    episode,
    status: payload.status,
    content: withoutUndefined(content),
  };
}

function handleStatus(status: AlertStatus): "Open" | "Closed" {
  return status === "resolved" ? "Closed" : "Open";
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Drops keys whose value is undefined, so golden tests and the sent JSON show only set fields. */
function withoutUndefined<T extends object>(value: T): T {
  // A plain loop, because this runs several times per alert and entries/filter/fromEntries is
  // much slower. The values are object literals of this file, so for-in visits only own keys.
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    const entry = value[key];
    if (entry !== undefined) copy[key] = entry;
  }
  return copy as T;
}
