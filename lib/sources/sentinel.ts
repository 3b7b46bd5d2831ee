import * as z from "zod";
import type { Alert } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { countOf, handleStatusOf, joinDistinct, receivedTime, severityMapLookup, severityOf, text, thirdPartyDataSource } from "./common";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { entitiesToAlertFields, sentinelEntitySchema } from "./sentinel-entities";
import { compact, formatLabels } from "./shapes";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "sentinel";

/** Sentinel's four incident severities. Sentinel has no level above High, so nothing maps to Fatal. */
const sentinelSeverity = severityMapLookup({ informational: "Tips", low: "Low", medium: "Medium", high: "High" });

/**
 * Body a Logic App HTTP action posts with `@{triggerBody()}` of the Microsoft Sentinel incident
 * trigger: the automation event around the ARM incident object.
 *
 * @example
 * {"eventUniqueId":"e1e2…","objectSchemaType":"Incident","objectEventType":"Create",
 *  "workspaceId":"5a5a5a5a-6b6b-4c7c-8d8d-9e9e9e9e9e9e",
 *  "object":{"name":"7d3f1c2e-8a9b-4c0d-9e1f-2a3b4c5d6e7f","properties":{"title":"…","severity":"High","status":"New"}}}
 */
export const sentinelPayloadSchema = lazily(() => {
  const nullableText = z.string().nullable().optional();

  const incidentPropertiesSchema = z.object({
    title: z.string(),
    description: nullableText,
    severity: z.string(),
    status: z.enum(["New", "Active", "Closed"]),
    classification: nullableText,
    classificationReason: nullableText,
    classificationComment: nullableText,
    owner: z
      .object({ objectId: nullableText, email: nullableText, assignedTo: nullableText, userPrincipalName: nullableText })
      .nullable()
      .optional(),
    labels: z.array(z.object({ labelName: z.string(), labelType: z.string().optional() })).optional(),
    firstActivityTimeUtc: nullableText,
    lastActivityTimeUtc: nullableText,
    lastModifiedTimeUtc: nullableText,
    createdTimeUtc: nullableText,
    incidentNumber: z.number().int().optional(),
    additionalData: z
      .object({
        alertsCount: z.number().int().min(0).optional(),
        alertProductNames: z.array(z.string()).optional(),
        tactics: z.array(z.string()).optional(),
        techniques: z.array(z.string()).optional(),
      })
      .optional(),
    incidentUrl: nullableText,
    providerName: nullableText,
    providerIncidentId: nullableText,
    alerts: z
      .array(z.object({ properties: z.object({ productName: nullableText, alertDisplayName: nullableText }).optional() }))
      .optional(),
    relatedEntities: z.array(sentinelEntitySchema()).optional(),
  });

  return z.object({
    eventUniqueId: z.string().optional(),
    objectSchemaType: z.literal("Incident"),
    objectEventType: z.enum(["Create", "Update"]),
    workspaceInfo: z
      .object({
        SubscriptionId: z.string().optional(),
        ResourceGroupName: z.string().optional(),
        WorkspaceName: z.string().optional(),
      })
      .optional(),
    workspaceId: z.string().optional(),
    object: z.object({
      id: z.string().optional(),
      name: z.string().optional(),
      etag: z.string().optional(),
      type: z.string().optional(),
      properties: incidentPropertiesSchema,
    }),
  });
});

export type SentinelPayload = z.infer<ReturnType<typeof sentinelPayloadSchema>>;
type IncidentProperties = SentinelPayload["object"]["properties"];

/**
 * Microsoft Sentinel incidents forwarded by a Logic App. Identity is the workspace (scope) and
 * the incident GUID `object.name` (key). An incident has one life, so the episode is empty, and
 * every `Update` event maps to the same identity, including the one that closes the incident.
 */
export const sentinelSource = {
  id: SOURCE_ID,
  displayName: "Microsoft Sentinel",
  get schema() {
    return sentinelPayloadSchema();
  },
  normalize(payload: SentinelPayload, context: NormalizeContext): NormalizedAlert[] {
    const scope = text(payload.workspaceId) ?? missingIdentity(SOURCE_ID, "workspaceId");
    const key = text(payload.object.name) ?? missingIdentity(SOURCE_ID, "object.name");
    const incident = payload.object.properties;
    const status: AlertStatus = incident.status === "Closed" ? "resolved" : "firing";
    const at = "object.properties";

    const content: Alert = compact({
      title: incident.title,
      description: text(incident.description),
      severity: severityOf(incident.severity, `${at}.severity`, context, sentinelSeverity),
      first_observed_time: normalizeTime(incident.firstActivityTimeUtc, { field: `${at}.firstActivityTimeUtc` }),
      last_observed_time: normalizeTime(incident.lastActivityTimeUtc, { field: `${at}.lastActivityTimeUtc` }),
      update_time: normalizeTime(incident.lastModifiedTimeUtc, { field: `${at}.lastModifiedTimeUtc` }),
      create_time: receivedTime(context),
      data_source: thirdPartyDataSource({
        product_name: productNames(incident) ?? "Microsoft Sentinel",
        company_name: "Microsoft",
        product_feature: "Microsoft Sentinel",
        product_module: text(payload.workspaceInfo?.WorkspaceName),
      }),
      alert_type: {
        category: joinDistinct(incident.additionalData?.tactics ?? []),
        alert_type: joinDistinct(incident.additionalData?.techniques ?? []),
      },
      ...entitiesToAlertFields(incident.relatedEntities ?? [], `${at}.relatedEntities`),
      labels: formatLabels((incident.labels ?? []).map((label) => label.labelName)),
      source_url: text(incident.incidentUrl),
      count: countOf(incident.additionalData?.alertsCount) ?? 1,
      owner: text(incident.owner?.userPrincipalName) ?? text(incident.owner?.email) ?? text(incident.owner?.assignedTo),
      handle_status: handleStatusOf(status),
      ...closure(incident, `${at}.lastModifiedTimeUtc`),
    });

    return [{ source: SOURCE_ID, scope, key, episode: "", status, content }];
  },
} satisfies SourceAdapter<SentinelPayload>;

function productNames(incident: IncidentProperties): string | undefined {
  const fromAlerts = (incident.alerts ?? []).map((alert) => alert.properties?.productName ?? undefined);
  return joinDistinct(incident.additionalData?.alertProductNames ?? fromAlerts);
}

const VERIFICATION_BY_CLASSIFICATION: ReadonlyMap<string, Alert["verification_state"]> = new Map([
  ["TruePositive", "True_Positive"],
  ["FalsePositive", "False_Positive"],
]);

const CLOSE_REASON_BY_CLASSIFICATION: ReadonlyMap<string, Alert["close_reason"]> = new Map([
  ["FalsePositive", "False detection"],
  ["TruePositive", "Resolved"],
  ["BenignPositive", "Resolved"],
]);

/**
 * Maps Sentinel's classification onto SecMaster's verification state and, for a closed
 * incident, its close reason, comment and time. BenignPositive (a correct detection of expected
 * activity) keeps the verification state Unknown and is closed as Resolved. Undetermined is
 * closed as Other.
 */
function closure(incident: IncidentProperties, lastModifiedField: string): Partial<Alert> {
  const classification = text(incident.classification) ?? "";
  const verification = VERIFICATION_BY_CLASSIFICATION.get(classification) ?? "Unknown";
  if (incident.status !== "Closed") return { verification_state: verification };

  const reason = CLOSE_REASON_BY_CLASSIFICATION.get(classification) ?? "Other";
  const reasonText = text(incident.classificationReason);
  const commentText = text(incident.classificationComment);
  const comment = reasonText !== undefined && commentText !== undefined ? `${reasonText}: ${commentText}` : (reasonText ?? commentText);
  return {
    verification_state: verification,
    close_reason: reason,
    close_comment: comment,
    close_time: normalizeTime(incident.lastModifiedTimeUtc, { field: lastModifiedField }),
  };
}
