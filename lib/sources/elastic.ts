import * as z from "zod";
import type { Alert, Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { handleStatusOf, receivedTime, severityMapLookup, severityOf, text, thirdPartyDataSource } from "./common";
import {
  elasticNetwork,
  elasticProcesses,
  elasticFiles,
  elasticResources,
  elasticThreatType,
  expandDottedKeys,
  securityAlertSchema,
  type SecurityAlert,
} from "./elastic-ecs";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { byShape, compact, formatLabels, hasKey } from "./shapes";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "elastic";

/** Kibana's action group of an alert that stopped matching. */
const RECOVERED_ACTION_GROUP = "recovered";

/** Elastic's four severity words. Any other word goes to `unknownSeverity`. */
const elasticSeverity = severityMapLookup({ critical: "Fatal", high: "High", medium: "Medium", low: "Low" });

function stackRuleBodySchema() {
  // `{{rule.tags}}` renders as a comma-separated string, `{{{rule.tags.asJSON}}}` as an array.
  const tagsSchema = z.union([z.array(z.string()), z.string()]);

  return z.object({
    source: z.string().optional(),
    rule: z.object({
      id: z.string().optional(),
      name: z.string().optional(),
      type: z.string().optional(),
      tags: tagsSchema.optional(),
      space: z.string().optional(),
      url: z.string().optional(),
    }),
    alert: z.object({
      id: z.string().optional(),
      uuid: z.string().optional(),
      action_group: z.string(),
      flapping: z.boolean().optional(),
      consecutive_matches: z.number().int().min(0).optional(),
    }),
    context: z
      .object({
        title: z.string().optional(),
        message: z.string().optional(),
        reason: z.string().optional(),
        link: z.string().optional(),
        date: z.string().optional(),
      })
      .optional(),
    date: z.string().optional(),
    kibana_base_url: z.string().optional(),
  });
}

function securityBodySchema() {
  return z.object({
    rule: z
      .object({
        id: z.string().optional(),
        name: z.string().optional(),
        severity: z.string().optional(),
        risk_score: z.number().min(0).max(100).optional(),
        url: z.string().optional(),
      })
      .optional(),
    results_link: z.string().optional(),
    alerts_count: z.number().int().min(0).optional(),
    alerts: z.array(z.preprocess(expandDottedKeys, securityAlertSchema())),
  });
}

type StackRuleBody = z.infer<ReturnType<typeof stackRuleBodySchema>>;
type SecurityBody = z.infer<ReturnType<typeof securityBodySchema>>;
export type ElasticPayload = StackRuleBody | SecurityBody;

/**
 * Body of a Kibana webhook connector rendered from one of the two templates in
 * `docs/sources/elastic.md`. Kibana has no fixed webhook body, so the shape is ours:
 *
 * - a stack rule action (per alert) with `rule`, `alert`, `context` and `date`;
 * - an Elastic Security rule action with `rule`, `results_link` and `alerts`, the full alert
 *   documents of `context.alerts` (one for a per-alert action, several for a summary).
 *
 * @example
 * {"rule":{"id":"6f0c…","name":"Failed VPN logins > 20 in 5m","tags":["vpn","severity:high"],"space":"default"},
 *  "alert":{"id":"query matched","uuid":"3c9f…","action_group":"query matched"},
 *  "context":{"message":"Document count is 37 in the last 5m"},"date":"2024-05-14T10:20:05.311Z"}
 */
export const elasticPayloadSchema = lazily(() =>
  byShape<ElasticPayload>(
    [
      { matches: (value) => hasKey(value, "alerts"), schema: securityBodySchema() },
      { matches: (value) => hasKey(value, "alert"), schema: stackRuleBodySchema() },
    ],
    "a Kibana webhook body with an `alert` object (stack rule) or an `alerts` array (Elastic Security)",
  ),
);

/**
 * Elastic: Kibana stack rules and Elastic Security detection rules through the webhook
 * connector. Stack rule alerts are identified by space (scope), `rule.id` (key) and `alert.uuid`
 * (episode, new for each active period). Security alerts are identified by space and
 * `kibana.alert.uuid`.
 */
export const elasticSource = {
  id: SOURCE_ID,
  displayName: "Elastic",
  get schema() {
    return elasticPayloadSchema();
  },
  normalize(payload: ElasticPayload, context: NormalizeContext): NormalizedAlert[] {
    if ("alerts" in payload) {
      return payload.alerts.map((alert, index) => normalizeSecurityAlert(payload, alert, index, context));
    }
    return [normalizeStackAlert(payload, context)];
  },
} satisfies SourceAdapter<ElasticPayload>;

function normalizeStackAlert(payload: StackRuleBody, context: NormalizeContext): NormalizedAlert {
  const scope = text(payload.rule.space) ?? missingIdentity(SOURCE_ID, "rule.space");
  const key = text(payload.rule.id) ?? missingIdentity(SOURCE_ID, "rule.id");
  const episode = text(payload.alert.uuid) ?? missingIdentity(SOURCE_ID, "alert.uuid");
  const status: AlertStatus = payload.alert.action_group === RECOVERED_ACTION_GROUP ? "resolved" : "firing";
  const tags = tagList(payload.rule.tags);
  const severityTag = tags.find((tag) => tag.toLowerCase().startsWith("severity:"));

  const content: Alert = compact({
    title: text(payload.rule.name) ?? text(payload.context?.title) ?? "Kibana alert",
    description: text(payload.context?.message) ?? text(payload.context?.reason) ?? text(payload.context?.title),
    severity: severityOf(severityTag?.slice("severity:".length), "rule.tags", context),
    // `context.date` is the time of the rule run that sent this action, which for a recovery is
    // the end of the alert, not its start.
    first_observed_time: status === "firing" ? normalizeTime(payload.context?.date, { field: "context.date" }) : undefined,
    last_observed_time: normalizeTime(payload.date, { field: "date" }) ?? receivedTime(context),
    create_time: receivedTime(context),
    data_source: thirdPartyDataSource({
      product_name: "Kibana",
      company_name: "Elastic",
      product_feature: text(payload.rule.type),
      product_module: scope,
    }),
    alert_type: { alert_type: text(payload.rule.type) },
    // The alert id names the group of a grouped rule (a host, a user). For ungrouped rules it is
    // the action group name.
    labels: formatLabels([...tags, ["alert_id", payload.alert.id]]),
    source_url: text(payload.context?.link) ?? text(payload.rule.url),
    // Kibana resets the match counter to 0 on recovery, but the notification is one occurrence.
    count: Math.max(1, payload.alert.consecutive_matches ?? 1),
    handle_status: handleStatusOf(status),
    verification_state: "Unknown",
  });

  return { source: SOURCE_ID, scope, key, episode, status, content };
}

function tagList(tags: string | readonly string[] | undefined): string[] {
  const list = typeof tags === "string" ? tags.split(",") : (tags ?? []);
  return list.map((tag) => tag.trim()).filter((tag) => tag !== "");
}

function normalizeSecurityAlert(
  payload: SecurityBody,
  alert: SecurityAlert,
  index: number,
  context: NormalizeContext,
): NormalizedAlert {
  const at = `alerts[${index}]`;
  const fields = alert.kibana.alert;
  const rule = fields.rule;
  const scope = text(alert.kibana.space_ids?.[0]) ?? missingIdentity(SOURCE_ID, `${at}.kibana.space_ids`);
  const key = text(fields.uuid) ?? text(alert._id) ?? missingIdentity(SOURCE_ID, `${at}.kibana.alert.uuid`);
  const status: AlertStatus = fields.workflow_status === "closed" ? "resolved" : "firing";
  const riskScore = fields.risk_score ?? rule?.risk_score ?? payload.rule?.risk_score;

  const content: Alert = compact({
    title: text(rule?.name) ?? text(payload.rule?.name) ?? "Elastic Security alert",
    description: text(fields.reason) ?? text(rule?.description),
    severity: securitySeverity(alert, payload, `${at}.kibana.alert`, context),
    confidence: riskScore === undefined ? undefined : Math.round(riskScore),
    first_observed_time: normalizeTime(fields.original_time, { field: `${at}.kibana.alert.original_time` }),
    last_observed_time:
      normalizeTime(fields.last_detected, { field: `${at}.kibana.alert.last_detected` }) ??
      normalizeTime(alert["@timestamp"], { field: `${at}.@timestamp` }) ??
      receivedTime(context),
    create_time: receivedTime(context),
    data_source: thirdPartyDataSource({
      product_name: "Elastic Security",
      company_name: "Elastic",
      product_feature: text(rule?.type),
      product_module: text(alert.event?.module),
    }),
    alert_type: elasticThreatType(rule?.threat),
    network_list: elasticNetwork(alert),
    resource_list: elasticResources(alert),
    user_info: [{ user_id: text(alert.user?.id), user_name: text(alert.user?.name) }],
    process: elasticProcesses(alert, `${at}.process`),
    file_info: elasticFiles(alert),
    malware: { malware_family: text(alert.threat?.software?.name), malware_class: text(alert.threat?.software?.type) },
    remediation: { recommendation: text(rule?.note), url: text(rule?.references?.[0]) },
    labels: formatLabels(rule?.tags ?? []),
    source_url: text(fields.url) ?? text(payload.results_link),
    count: 1 + (fields.suppression?.docs_count ?? 0),
    handle_status: handleStatusOf(status),
    verification_state: "Unknown",
  });

  return { source: SOURCE_ID, scope, key, episode: "", status, content };
}

// The alert's own severity wins because severity overrides can raise it above the rule's
// default. Without any severity word, the risk score decides in Elastic's default bands.
function securitySeverity(alert: SecurityAlert, payload: SecurityBody, at: string, context: NormalizeContext): Severity {
  const fields = alert.kibana.alert;
  const candidates: Array<[string, string | undefined]> = [
    [`${at}.severity`, fields.severity],
    [`${at}.rule.severity`, fields.rule?.severity],
    ["rule.severity", payload.rule?.severity],
  ];
  for (const [field, word] of candidates) {
    if (text(word) !== undefined) return severityOf(word, field, context, elasticSeverity);
  }

  const riskScore = fields.risk_score ?? fields.rule?.risk_score ?? payload.rule?.risk_score;
  if (riskScore !== undefined) return severityFromRiskScore(riskScore);
  return context.unknownSeverity(`${at}.severity`, undefined);
}

/** Maps an Elastic risk score (0-100) with the bands of Elastic's defaults 21, 47, 73 and 99. */
export function severityFromRiskScore(riskScore: number): Severity {
  if (riskScore >= 99) return "Fatal";
  if (riskScore >= 73) return "High";
  if (riskScore >= 47) return "Medium";
  if (riskScore >= 21) return "Low";
  return "Tips";
}
