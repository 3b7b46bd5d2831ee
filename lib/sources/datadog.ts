import * as z from "zod";
import type { Alert, AlertResource, Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { handleStatusOf, receivedTime, severityMapLookup, severityOf, text, thirdPartyDataSource } from "./common";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { compact } from "./shapes";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "datadog";

/** `$ALERT_PRIORITY` of a monitor, P1 highest. */
const prioritySeverity = severityMapLookup({ p1: "Fatal", p2: "High", p3: "Medium", p4: "Low", p5: "Tips" });

/** `$SECURITY_SIGNAL_SEVERITY` of a Cloud SIEM signal. */
const signalSeverity = severityMapLookup({ critical: "Fatal", high: "High", medium: "Medium", low: "Low", info: "Tips" });

/** `$ALERT_TYPE`. The value `success` marks a recovery and carries no severity of its own. */
const alertTypeSeverity = severityMapLookup({ error: "High", warning: "Medium", info: "Tips" });

/** Transitions that open a trigger-to-resolve cycle, so their `$DATE` is the first observation. */
const CYCLE_START_TRANSITIONS = new Set(["Triggered", "Warn", "No Data"]);

// The prefix Datadog puts before the monitor name in `$EVENT_TITLE`, such as
// `[Triggered on {host:web-01}] ` or `[P2] [Recovered] `. Only these known forms are removed, so a
// monitor whose own name starts with brackets keeps them.
const TITLE_PREFIX =
  /^(?:\[P[1-5]\]\s*)?\[(?:Triggered|Re-Triggered|Recovered|Warn|Re-Warn|No Data|Re-No Data|Renotify)(?: on \{[^}]*\})?\]\s*/;

/**
 * Body of a Datadog Webhooks integration notification: either the default payload (`body`,
 * `org`, `title`, `date`, `id`, …) or the custom payload published in `docs/sources/datadog.md`,
 * whose keys are the lower-cased names of the template variables.
 *
 * @example
 * {"id":"7423158901234567890","title":"[Triggered on {host:web-01.example.com}] High CPU on web tier",
 *  "date":"1715683125000","alert_id":"148275309","alert_cycle_key":"7423158901234000111",
 *  "alert_scope":"host:web-01.example.com","alert_transition":"Triggered","alert_priority":"P2","org_id":"482910"}
 */
export const datadogPayloadSchema = lazily(() => {
  // Datadog substitutes template variables as text, so a variable left unquoted in the template
  // arrives as a number.
  const variable = z.union([z.string(), z.number()]).transform(String);

  return z.object({
    id: variable.optional(),
    title: z.string().optional(),
    body: z.string().optional(),
    date: variable.optional(),
    last_updated: variable.optional(),
    event_type: z.string().optional(),
    org: z.object({ id: variable.optional(), name: z.string().optional() }).optional(),
    priority: z.string().optional(),
    alert_priority: z.string().optional(),
    alert_type: z.string().optional(),
    alert_transition: z.string().optional(),
    alert_id: variable.optional(),
    alert_cycle_key: variable.optional(),
    aggreg_key: z.string().optional(),
    alert_query: z.string().optional(),
    alert_scope: z.string().optional(),
    hostname: z.string().optional(),
    tags: z.string().optional(),
    link: z.string().optional(),
    text_only_msg: z.string().optional(),
    org_id: variable.optional(),
    org_name: z.string().optional(),
    security_signal_id: z.string().optional(),
    security_signal_severity: z.string().optional(),
    security_rule_name: z.string().optional(),
  });
});

export type DatadogPayload = z.infer<ReturnType<typeof datadogPayloadSchema>>;

/**
 * Datadog monitor and security signal notifications. Identity is the organization (scope), the
 * monitor and its group (`$ALERT_ID/$ALERT_SCOPE`, key) and `$ALERT_CYCLE_KEY` (episode). A
 * security signal without a monitor is keyed on its signal id. The default payload carries none
 * of these, so it is rejected with `BRIDGE.IDENTITY_MISSING`.
 */
export const datadogSource = {
  id: SOURCE_ID,
  displayName: "Datadog",
  get schema() {
    return datadogPayloadSchema();
  },
  normalize(payload: DatadogPayload, context: NormalizeContext): NormalizedAlert[] {
    const { key, episode } = identityOf(payload);
    const scope = text(payload.org_id) ?? missingIdentity(SOURCE_ID, "org_id", { fix: payloadTemplateFix("org_id") });
    const transition = text(payload.alert_transition);
    const status: AlertStatus = transition === "Recovered" || payload.alert_type === "success" ? "resolved" : "firing";

    const content: Alert = compact({
      title: monitorName(payload.title),
      description: describe(payload),
      severity: severityFor(payload, context),
      first_observed_time:
        transition !== undefined && CYCLE_START_TRANSITIONS.has(transition)
          ? normalizeTime(payload.date, { field: "date" })
          : undefined,
      last_observed_time:
        normalizeTime(payload.last_updated, { field: "last_updated" }) ??
        normalizeTime(payload.date, { field: "date" }) ??
        receivedTime(context),
      create_time: receivedTime(context),
      data_source: thirdPartyDataSource({
        product_name: "Datadog",
        company_name: "Datadog",
        product_feature: text(payload.event_type),
        product_module: text(payload.org_name),
      }),
      alert_type: { category: text(payload.event_type), alert_type: text(payload.security_rule_name) },
      resource_list: resourcesOf(payload),
      labels: text(payload.tags),
      source_url: text(payload.link),
      count: 1,
      handle_status: handleStatusOf(status),
      verification_state: "Unknown",
    });

    return [{ source: SOURCE_ID, scope, key, episode, status, content }];
  },
} satisfies SourceAdapter<DatadogPayload>;

function identityOf(payload: DatadogPayload): { key: string; episode: string } {
  const alertId = text(payload.alert_id);
  const signalId = text(payload.security_signal_id);
  if (alertId === undefined && signalId !== undefined) return { key: `signal/${signalId}`, episode: "" };

  const monitor = alertId ?? missingIdentity(SOURCE_ID, "alert_id", { fix: payloadTemplateFix("alert_id") });
  const episode = text(payload.alert_cycle_key) ?? missingIdentity(SOURCE_ID, "alert_cycle_key", { fix: payloadTemplateFix("alert_cycle_key") });
  return { key: `${monitor}/${text(payload.alert_scope) ?? ""}`, episode };
}

// Datadog's default webhook payload carries none of the identity fields, so the fix names the
// custom payload that does.
function payloadTemplateFix(field: string): string {
  return `set the webhook's custom payload to the template in docs/sources/datadog.md ("Datadog setup"), which sends ${field}`;
}

function monitorName(title: string | undefined): string {
  const name = text(title?.replace(TITLE_PREFIX, ""));
  return name ?? "Datadog alert";
}

// `@webhook-<name>` mentions only route the notification in Datadog.
const WEBHOOK_MENTION = /\s*@webhook-[\w-]+/g;

function describe(payload: DatadogPayload): string | undefined {
  const message = text((payload.text_only_msg ?? payload.body)?.replace(WEBHOOK_MENTION, ""));
  const query = text(payload.alert_query);
  const lines = [message, query === undefined ? undefined : `Query: ${query}`].filter((line) => line !== undefined);
  return lines.length === 0 ? undefined : lines.join("\n");
}

// Priority comes first because the team set it on the monitor. A security signal's own severity
// comes next, and the alert type last, because it only distinguishes error, warning and info.
function severityFor(payload: DatadogPayload, context: NormalizeContext): Severity {
  if (text(payload.alert_priority) !== undefined) {
    return severityOf(payload.alert_priority, "alert_priority", context, prioritySeverity);
  }
  if (text(payload.security_signal_severity) !== undefined) {
    return severityOf(payload.security_signal_severity, "security_signal_severity", context, signalSeverity);
  }
  return severityOf(payload.alert_type, "alert_type", context, alertTypeSeverity);
}

function resourcesOf(payload: DatadogPayload): AlertResource[] | undefined {
  const hostname = text(payload.hostname);
  if (hostname === undefined) return undefined;
  return [{ name: hostname, tags: scopeTags(payload.alert_scope) }];
}

/** Splits `$ALERT_SCOPE` (`host:web-01,env:prod`) into resource tags. The first value of a key wins. */
function scopeTags(scope: string | undefined): Record<string, string> | undefined {
  const tags = new Map<string, string>();
  for (const part of (scope ?? "").split(",")) {
    const separator = part.indexOf(":");
    const key = part.slice(0, Math.max(separator, 0)).trim();
    const value = part.slice(separator + 1).trim();
    if (key !== "" && value !== "" && !tags.has(key)) tags.set(key, value);
  }
  return Object.fromEntries(tags);
}
