import * as z from "zod";
import { SOURCE_TYPE, type Alert, type Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { InvalidInputError } from "../errors";
import { receivedTime } from "./common";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { byShape, compact, formatLabels, hasKey, isRecord, nonEmpty } from "./shapes";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "huaweicloud-ces";
const PRODUCT_NAME = "Cloud Eye";

/** `data_source.company_name` of Huawei Cloud services. */
export const HUAWEI_CLOUD_COMPANY_NAME = "Huawei Cloud";
/** `environment.vendor_type` of alerts raised in a Huawei Cloud account. */
export const HUAWEI_CLOUD_VENDOR_TYPE = "HuaweiCloud";

/**
 * The JSON alarm CES puts in the SMN `message` (fields the adapter reads).
 *
 * NOTE: these field names come from an illustrative sample, not from a captured delivery. Every
 * field is optional, so a differently named field is ignored instead of rejected, and a missing
 * `alarm_id` fails as a missing identity.
 *
 * @example
 * {"alarm_id":"al1715652000000aBcDeFgHiJk","alarm_name":"ecs-cpu-high-prod","alarm_status":"alarm","alarm_level":2,
 *  "namespace":"SYS.ECS","metric_name":"cpu_util","dimensions":[{"name":"instance_id","value":"3f6b…"}],…}
 */
export const cesAlarmMessageSchema = lazily(() => {
  const text = z.string().nullish();
  const scalar = z.union([z.string(), z.number()]).nullish();

  return z.object({
    alarm_id: text,
    alarm_name: text,
    alarm_status: text,
    alarm_level: scalar,
    alarm_record_id: text,
    namespace: text,
    metric_name: text,
    dimensions: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
    resource_id: text,
    resource_name: text,
    current_value: scalar,
    unit: text,
    comparison_operator: text,
    threshold: scalar,
    filter: text,
    period: scalar,
    count: scalar,
    region: text,
    project_id: text,
    time: scalar,
  });
});
export type CesAlarmMessage = z.infer<ReturnType<typeof cesAlarmMessageSchema>>;

/** A CES alarm in either message format, with `text` set when CES sent plain text. */
export interface CesAlarm {
  fields: CesAlarmMessage;
  /** The message as sent when it is plain text (a topic message template), else undefined. */
  text: string | undefined;
}

// Keys of "Key: value" lines in plain-text messages, lower case without spaces, hyphens or
// underscores, in English and Simplified Chinese.
// NOTE: these labels are a best guess at CES topic templates; check them against a real message.
const TEXT_KEYS: Readonly<Record<string, keyof CesAlarmMessage>> = {
  alarmid: "alarm_id",
  alarmruleid: "alarm_id",
  告警id: "alarm_id",
  告警规则id: "alarm_id",
  alarmname: "alarm_name",
  告警名称: "alarm_name",
  alarmstatus: "alarm_status",
  status: "alarm_status",
  告警状态: "alarm_status",
  alarmseverity: "alarm_level",
  alarmlevel: "alarm_level",
  severity: "alarm_level",
  告警级别: "alarm_level",
  alarmrecordid: "alarm_record_id",
  recordid: "alarm_record_id",
  告警记录id: "alarm_record_id",
  resource: "resource_name",
  resourcename: "resource_name",
  资源名称: "resource_name",
  resourceid: "resource_id",
  资源id: "resource_id",
  namespace: "namespace",
  命名空间: "namespace",
  metric: "metric_name",
  metricname: "metric_name",
  指标名称: "metric_name",
  region: "region",
  区域: "region",
  projectid: "project_id",
  项目id: "project_id",
  time: "time",
  occurred: "time",
  occurredat: "time",
  发生时间: "time",
  告警时间: "time",
};

/** Reads the `Key: value` lines (ASCII or full-width colon) of a plain-text alarm message. */
export function parseCesText(message: string): CesAlarmMessage {
  const fields: Record<string, string> = {};
  for (const line of message.split(/[\n;；]/)) {
    const match = /^\s*([^:：]{1,40}?)\s*[:：]\s*(.+?)\s*$/.exec(line);
    if (match === null) continue;
    const [, label = "", value = ""] = match;
    const normalizedLabel = label.toLowerCase().replace(/[\s_-]/g, "");
    const field = Object.hasOwn(TEXT_KEYS, normalizedLabel) ? TEXT_KEYS[normalizedLabel] : undefined;
    if (field !== undefined && fields[field] === undefined) fields[field] = value;
  }
  return fields;
}

function parseAlarmMessage(message: string, context: z.core.$RefinementCtx): CesAlarm {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return { fields: parseCesText(message), text: message };
  }
  if (!isRecord(parsed)) return { fields: parseCesText(message), text: message };

  const result = cesAlarmMessageSchema().safeParse(parsed);
  if (result.success) return { fields: result.data, text: undefined };
  for (const issue of result.error.issues) {
    context.issues.push({ code: "custom", message: issue.message, path: issue.path, input: parsed });
  }
  return z.NEVER;
}

function smnNotificationSchema() {
  const text = z.string().nullish();

  return z.object({
    type: z.literal("Notification"),
    message_id: z.string(),
    topic_urn: z.string(),
    subject: text,
    timestamp: text,
    unsubscribe_url: text,
    message: z.string().transform(parseAlarmMessage),
  });
}

function smnControlSchema() {
  const text = z.string().nullish();

  return z.object({
    type: z.enum(["SubscriptionConfirmation", "UnsubscribeConfirmation"]),
    message_id: z.string(),
    topic_urn: z.string(),
    timestamp: text,
    message: z.string(),
    subscribe_url: text,
  });
}

/**
 * A parsed CES delivery: an alarm with its SMN envelope fields, or an SMN control message.
 * Signature fields are checked by the inbound authentication step on the raw bytes.
 */
export type CesPayload =
  | {
      kind: "alarm";
      alarm: CesAlarm;
      smn: { messageId: string; topicUrn: string; subject: string | undefined; timestamp: string | undefined; consoleHost: string | undefined } | undefined;
      /** Path prefix of the alarm fields in the body, for error messages. */
      fieldPrefix: string;
    }
  | { kind: "control"; control: z.infer<ReturnType<typeof smnControlSchema>> };

function smnMessageSchema() {
  return z.discriminatedUnion("type", [
    smnNotificationSchema().transform(
      (body): CesPayload => ({
        kind: "alarm",
        alarm: body.message,
        smn: {
          messageId: body.message_id,
          topicUrn: body.topic_urn,
          subject: body.subject ?? undefined,
          timestamp: body.timestamp ?? undefined,
          consoleHost: consoleHostOf(body.unsubscribe_url),
        },
        fieldPrefix: "message.",
      }),
    ),
    smnControlSchema().transform((control): CesPayload => ({ kind: "control", control })),
  ]);
}

/**
 * A Cloud Eye delivery: the body SMN posts to an HTTP(S) subscription (a `Notification` whose
 * `message` is the alarm as JSON or plain text, or a `SubscriptionConfirmation` or
 * `UnsubscribeConfirmation`), or a replayed alarm JSON without the SMN envelope.
 */
export const cesPayloadSchema = lazily(() =>
  byShape<CesPayload>(
    [
      { matches: (value) => hasKey(value, "type") && hasKey(value, "topic_urn"), schema: smnMessageSchema() },
      {
        matches: (value) => hasKey(value, "alarm_id"),
        schema: cesAlarmMessageSchema().transform((fields): CesPayload => ({ kind: "alarm", alarm: { fields, text: undefined }, smn: undefined, fieldPrefix: "" })),
      },
    ],
    "an SMN message (type, topic_urn, message) or a Cloud Eye alarm object (alarm_id)",
  ),
);

/**
 * Returns the `subscribe_url` of an SMN `SubscriptionConfirmation` body, or undefined for any
 * other value. The caller must verify the message signature and that the URL points at a Huawei
 * Cloud host before it requests the URL.
 */
export function smnSubscribeUrl(body: unknown): string | undefined {
  if (!isRecord(body) || body.type !== "SubscriptionConfirmation") return undefined;
  const url = body.subscribe_url;
  return typeof url === "string" && url !== "" ? url : undefined;
}

const LEVEL_SEVERITY: Readonly<Record<string, Severity>> = {
  "1": "Fatal",
  critical: "Fatal",
  紧急: "Fatal",
  "2": "High",
  major: "High",
  重要: "High",
  "3": "Medium",
  minor: "Medium",
  次要: "Medium",
  "4": "Tips",
  informational: "Tips",
  info: "Tips",
  提示: "Tips",
};

/**
 * Maps a CES alarm level onto SecMaster: 1 Critical Fatal, 2 Major High, 3 Minor Medium,
 * 4 Informational Tips (numbers, numeric strings or the level names). Undefined otherwise.
 */
export function cesSeverity(level: string | number): Severity | undefined {
  const word = String(level).trim().toLowerCase();
  return Object.hasOwn(LEVEL_SEVERITY, word) ? LEVEL_SEVERITY[word] : undefined;
}

const STATUS_WORDS: Readonly<Record<string, AlertStatus | "insufficient">> = {
  alarm: "firing",
  alarming: "firing",
  firing: "firing",
  triggered: "firing",
  告警中: "firing",
  已触发: "firing",
  ok: "resolved",
  recovered: "resolved",
  resolved: "resolved",
  normal: "resolved",
  已恢复: "resolved",
  恢复: "resolved",
  insufficient_data: "insufficient",
  invalid: "insufficient",
  数据不足: "insufficient",
};

/**
 * The Cloud Eye source. Identity: project and region (scope), alarm rule id and the resource
 * dimensions (key), and the alarm record id when the message carries one (episode), so repeats
 * within the rule's notification interval and the recovery message share one id. SMN
 * confirmations and insufficient-data notifications are skipped.
 */
export const huaweiCloudCesSource = {
  id: SOURCE_ID,
  displayName: "Huawei Cloud Cloud Eye",
  get schema() {
    return cesPayloadSchema();
  },
  normalize(payload: CesPayload, context: NormalizeContext): NormalizedAlert[] {
    return [payload.kind === "control" ? normalizeControl(payload.control, context) : normalizeAlarm(payload, context)];
  },
} satisfies SourceAdapter<CesPayload>;

function normalizeAlarm(payload: Extract<CesPayload, { kind: "alarm" }>, context: NormalizeContext): NormalizedAlert {
  const { fields } = payload.alarm;
  const prefix = payload.fieldPrefix;
  const alarmId = nonEmpty(fields.alarm_id) ?? missingIdentity(SOURCE_ID, `${prefix}alarm_id`);
  const urn = parseTopicUrn(payload.smn?.topicUrn);
  const region = nonEmpty(fields.region) ?? urn?.region;
  const projectId = nonEmpty(fields.project_id) ?? urn?.projectId;
  const dimensions = (fields.dimensions ?? []).map((dimension): [string, string] => [dimension.name, dimension.value]);
  const resourceId = nonEmpty(fields.resource_id) ?? dimensions[0]?.[1];
  const resourceKey = dimensions.length > 0 ? [...dimensions].sort().map(([name, value]) => `${name}=${value}`).join(",") : (resourceId ?? nonEmpty(fields.resource_name));
  const status = alarmStatus(fields.alarm_status, prefix);
  const occurredAt = normalizeTime(zonedText(fields.time), { field: `${prefix}time`, epoch: "auto" });
  const sentAt = normalizeTime(payload.smn?.timestamp, { field: "timestamp" });
  const resolved = status === "resolved";

  const content: Alert = compact({
    title: payload.smn?.subject ?? fields.alarm_name ?? `Cloud Eye alarm ${alarmId}`,
    description: payload.alarm.text ?? describeAlarm(fields),
    severity: alarmSeverity(fields.alarm_level, prefix, context),
    alert_type: { category: fields.namespace, alert_type: fields.metric_name },
    // A recovery message carries the recovery time, not the start of the alarm.
    first_observed_time: resolved ? undefined : (occurredAt ?? sentAt),
    last_observed_time: sentAt ?? occurredAt,
    close_time: resolved ? (occurredAt ?? sentAt) : undefined,
    create_time: receivedTime(context),
    handle_status: resolved ? "Closed" : "Open",
    resource_list:
      resourceId !== undefined || fields.resource_name
        ? [
            {
              id: resourceId,
              name: fields.resource_name,
              type: resourceType(fields.namespace),
              provider: "huaweicloud",
              region_id: region,
              project_id: projectId,
            },
          ]
        : undefined,
    labels: formatLabels([
      ["status", fields.alarm_status],
      ["namespace", fields.namespace],
      ["metric", fields.metric_name],
      ...dimensions,
    ]),
    source_url: region === undefined ? undefined : cesConsoleUrl(payload.smn?.consoleHost, region, alarmId),
    data_source: {
      source_type: SOURCE_TYPE.cloudProduct,
      company_name: HUAWEI_CLOUD_COMPANY_NAME,
      product_name: PRODUCT_NAME,
      product_feature: fields.metric_name,
      product_module: fields.namespace,
      region_id: region,
      project_id: projectId,
    },
    environment: { vendor_type: HUAWEI_CLOUD_VENDOR_TYPE, region_id: region, project_id: projectId },
  });

  const alert: NormalizedAlert = {
    source: SOURCE_ID,
    scope: [projectId ?? "", region ?? ""].join("/"),
    key: resourceKey === undefined ? alarmId : `${alarmId}/${resourceKey}`,
    episode: nonEmpty(fields.alarm_record_id) ?? "",
    status: status === "insufficient" ? "firing" : status,
    content,
  };
  if (status === "insufficient") {
    alert.skipReason = `Cloud Eye alarm status ${fields.alarm_status ?? ""} means the metric has no data; only alarm and ok notifications are handled`;
  }
  return alert;
}

function normalizeControl(control: Extract<CesPayload, { kind: "control" }>["control"], context: NormalizeContext): NormalizedAlert {
  const confirming = control.type === "SubscriptionConfirmation";
  const urn = parseTopicUrn(control.topic_urn);
  const content: Alert = compact({
    title: `${confirming ? "SMN subscription confirmation" : "SMN unsubscribe confirmation"} for ${control.topic_urn}`,
    description: control.message,
    severity: "Tips",
    handle_status: "Open",
    first_observed_time: normalizeTime(control.timestamp, { field: "timestamp" }),
    create_time: receivedTime(context),
    data_source: {
      source_type: SOURCE_TYPE.cloudProduct,
      company_name: HUAWEI_CLOUD_COMPANY_NAME,
      product_name: PRODUCT_NAME,
      product_feature: "SMN",
      region_id: urn?.region,
      project_id: urn?.projectId,
    },
  });
  return {
    source: SOURCE_ID,
    scope: control.topic_urn,
    key: `smn:${control.type}`,
    episode: control.message_id,
    status: "firing",
    skipReason: confirming
      ? "SMN subscription confirmation; confirm the subscription in the SMN console"
      : "SMN unsubscribe confirmation; the topic no longer sends to this endpoint",
    content,
  };
}

/** Splits `urn:smn:<region>:<project id>:<topic name>`. */
function parseTopicUrn(urn: string | undefined): { region: string; projectId: string } | undefined {
  const match = urn === undefined ? null : /^urn:smn:([^:]+):([^:]+):/.exec(urn);
  if (match === null) return undefined;
  return { region: match[1] ?? "", projectId: match[2] ?? "" };
}

function alarmStatus(value: string | null | undefined, prefix: string): AlertStatus | "insufficient" {
  // CES only notifies about alarms and recoveries, so a message without a status is an alarm.
  if (value === undefined || value === null || value.trim() === "") return "firing";
  const word = value.trim().toLowerCase();
  const status = Object.hasOwn(STATUS_WORDS, word) ? STATUS_WORDS[word] : undefined;
  if (status !== undefined) return status;
  throw new InvalidInputError("BRIDGE.PAYLOAD_INVALID", `invalid ${SOURCE_ID} payload at ${prefix}alarm_status: unknown alarm status ${JSON.stringify(value.slice(0, 40))}`, {
    field: `${prefix}alarm_status`,
    fix: "send alarm, ok or insufficient_data as the alarm status",
  });
}

function alarmSeverity(level: string | number | null | undefined, prefix: string, context: NormalizeContext): Severity {
  const severity = level === undefined || level === null ? undefined : cesSeverity(level);
  return severity ?? context.unknownSeverity(`${prefix}alarm_level`, level);
}

function describeAlarm(fields: CesAlarmMessage): string | undefined {
  if (!fields.metric_name) return undefined;
  const unit = fields.unit ? ` ${fields.unit}` : "";
  const parts = [`${[fields.namespace, fields.metric_name].filter(Boolean).join(" ")}`];
  if (fields.current_value !== undefined && fields.current_value !== null) parts.push(`current value ${String(fields.current_value)}${unit}`);
  if (fields.threshold !== undefined && fields.threshold !== null) {
    const condition = [fields.filter, fields.comparison_operator, `${String(fields.threshold)}${unit}`].filter(Boolean).join(" ");
    const period = fields.period === undefined || fields.period === null ? "" : ` over ${String(fields.period)} s`;
    const count = fields.count === undefined || fields.count === null ? "" : ` for ${String(fields.count)} consecutive periods`;
    parts.push(`condition ${condition}${period}${count}`);
  }
  return parts.join(", ");
}

// Cloud Eye namespaces read SERVICE.ITEM (SYS.ECS, AGT.ECS, SYS.RDS); the item names the resource type.
function resourceType(namespace: string | null | undefined): string | undefined {
  const item = namespace?.split(".")[1];
  return item === undefined || item === "" ? undefined : item.toLowerCase();
}

const ZONED_TEXT_PATTERN = /^(\d{4})[/-](\d{2})[/-](\d{2})[ T](\d{2}:\d{2}:\d{2})\s*(?:GMT|UTC)([+-]\d{2}:?\d{2})$/;

/**
 * Rewrites the console's local time text (`2024/05/14 10:35:12 GMT+08:00`) as RFC 3339 so that
 * `normalizeTime` reads it; other values pass unchanged.
 */
function zonedText(value: string | number | null | undefined): string | number | null | undefined {
  if (typeof value !== "string") return value;
  const match = ZONED_TEXT_PATTERN.exec(value.trim());
  if (match === null) return value;
  const [, year, month, day, clock, offset] = match;
  return `${year}-${month}-${day}T${clock}${offset}`;
}

function consoleHostOf(url: string | null | undefined): string | undefined {
  if (url === undefined || url === null) return undefined;
  try {
    const host = new URL(url).host;
    return host.endsWith(".huaweicloud.com") ? host : undefined;
  } catch {
    return undefined;
  }
}

// NOTE: the console route of an alarm rule is unverified. The origin follows the SMN unsubscribe
// link, so Chinese mainland and international accounts each get their own console.
function cesConsoleUrl(consoleHost: string | undefined, region: string, alarmId: string): string {
  const host = consoleHost ?? "console-intl.huaweicloud.com";
  return `https://${host}/ces/?region=${encodeURIComponent(region)}#/alarms/detail?alarmId=${encodeURIComponent(alarmId)}`;
}
