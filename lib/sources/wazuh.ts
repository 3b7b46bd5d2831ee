import * as z from "zod";
import { SOURCE_TYPE, type Alert, type Severity } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { receivedTime } from "./common";
import { lazily } from "../lazy";
import { missingIdentity } from "./parse";
import { byShape, compact, formatLabels, hasKey, mergeObjects, nonEmpty, portNumber } from "./shapes";
import type { NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

const SOURCE_ID = "wazuh";

/**
 * A Wazuh alert as `integratord` writes it to the alert file (fields the adapter reads).
 *
 * @example
 * {"timestamp":"2024-05-14T09:55:12.481+0000","rule":{"level":10,"id":"5763","description":"sshd: brute force…",
 *  "groups":["syslog","sshd"]},"agent":{"id":"014","name":"web-02"},"manager":{"name":"wazuh-manager-01"},
 *  "id":"1715680512.8812345","full_log":"…","data":{"srcip":"198.51.100.23"}}
 */
export const wazuhAlertSchema = lazily(() => {
  const text = z.string().nullish();
  // Decoders emit most values as strings, but JSON decoders keep numbers.
  const scalar = z.union([z.string(), z.number()]).nullish();
  const textList = z.array(z.string()).nullish();

  return z.object({
    timestamp: text,
    id: text,
    rule: z
      .object({
        level: z.number().nullish(),
        id: scalar,
        description: text,
        firedtimes: z.number().int().min(0).nullish(),
        groups: textList,
        mitre: z.object({ id: textList, tactic: textList, technique: textList }).nullish(),
      })
      .nullish(),
    agent: z.object({ id: text, name: text, ip: text }).nullish(),
    manager: z.object({ name: text }).nullish(),
    cluster: z.object({ name: text, node: text }).nullish(),
    full_log: text,
    location: text,
    decoder: z.object({ name: text, parent: text }).nullish(),
    predecoder: z.object({ program_name: text, hostname: text }).nullish(),
    data: z
      .object({
        srcip: text,
        srcport: scalar,
        dstip: text,
        dstport: scalar,
        protocol: text,
        srcuser: text,
        dstuser: text,
      })
      .nullish(),
    syscheck: z
      .object({ path: text, md5_after: text, sha1_after: text, sha256_after: text, perm_after: text })
      .nullish(),
  });
});
export type WazuhAlert = z.infer<ReturnType<typeof wazuhAlertSchema>>;

/** A parsed Wazuh delivery: the alert, and the path prefix of its fields in the body. */
export interface WazuhPayload {
  alert: WazuhAlert;
  /** `""` for a raw alert, `"all_fields."` for the Shuffle-style wrapper. */
  fieldPrefix: string;
}

/**
 * The wrapper the bundled Shuffle integration script posts: a summary plus the raw alert in
 * `all_fields`. The summary fills fields the raw alert lacks.
 */
function shuffleWrapperSchema() {
  const text = z.string().nullish();
  return z
    .object({ title: text, text: text, timestamp: text, id: text, all_fields: wazuhAlertSchema() })
    .transform((wrapper): WazuhPayload => {
      const alert = wrapper.all_fields;
      return {
        alert: mergeObjects(alert, {
          id: alert.id ?? wrapper.id,
          timestamp: alert.timestamp ?? wrapper.timestamp,
          full_log: alert.full_log ?? wrapper.text,
          rule: mergeObjects(alert.rule ?? {}, { description: alert.rule?.description ?? wrapper.title }),
        }),
        fieldPrefix: "all_fields.",
      };
    });
}

/** A Wazuh delivery: the raw alert JSON, or the Shuffle-style wrapper around it. */
export const wazuhPayloadSchema = lazily(() =>
  byShape<WazuhPayload>(
    [
      { matches: (value) => hasKey(value, "all_fields"), schema: shuffleWrapperSchema() },
      { matches: () => true, schema: wazuhAlertSchema().transform((alert): WazuhPayload => ({ alert, fieldPrefix: "" })) },
    ],
    "a Wazuh alert object",
  ),
);

/**
 * Maps a Wazuh rule level onto SecMaster: 0-3 Tips, 4-7 Low, 8-11 Medium, 12-14 High, 15-16 Fatal
 * (16 is accepted because integration filters allow it). Returns undefined for other values.
 */
export function wazuhSeverity(level: number): Severity | undefined {
  if (!Number.isInteger(level) || level < 0 || level > 16) return undefined;
  if (level >= 15) return "Fatal";
  if (level >= 12) return "High";
  if (level >= 8) return "Medium";
  if (level >= 4) return "Low";
  return "Tips";
}

/**
 * The Wazuh source. Identity: the manager that wrote the alert (`manager.name`, else
 * `cluster.node`) as scope and the alert `id` as key, because `id` (`<epoch>.<offset in the
 * alert log>`) is unique only per manager. Wazuh has no resolve notification and every firing is
 * a new alert, so the episode is empty and the status is always firing.
 */
export const wazuhSource = {
  id: SOURCE_ID,
  displayName: "Wazuh",
  get schema() {
    return wazuhPayloadSchema();
  },
  normalize(payload: WazuhPayload, context: NormalizeContext): NormalizedAlert[] {
    return [normalizeAlert(payload.alert, payload.fieldPrefix, context)];
  },
} satisfies SourceAdapter<WazuhPayload>;

function normalizeAlert(alert: WazuhAlert, prefix: string, context: NormalizeContext): NormalizedAlert {
  const manager = nonEmpty(alert.manager?.name) ?? nonEmpty(alert.cluster?.node) ?? missingIdentity(SOURCE_ID, `${prefix}manager.name`);
  const alertId = nonEmpty(alert.id) ?? missingIdentity(SOURCE_ID, `${prefix}id`);
  const rule = alert.rule;
  const ruleId = rule?.id === undefined || rule.id === null ? undefined : String(rule.id);
  const observedAt = normalizeTime(alert.timestamp, { field: `${prefix}timestamp` });

  const content: Alert = compact({
    title: rule?.description ?? (ruleId === undefined ? `Wazuh alert ${alertId}` : `Wazuh rule ${ruleId}`),
    description: alert.full_log,
    severity: ruleSeverity(rule?.level, prefix, context),
    alert_type: ruleType(rule),
    first_observed_time: observedAt,
    last_observed_time: observedAt,
    create_time: receivedTime(context),
    count: rule?.firedtimes,
    handle_status: "Open",
    network_list: alertNetworks(alert.data),
    user_info: [alert.data?.srcuser, alert.data?.dstuser].filter((user) => user).map((user) => ({ user_name: user ?? undefined })),
    resource_list: alert.agent ? [{ id: alert.agent.id, name: alert.agent.name, type: "host", provider: "wazuh" }] : undefined,
    process: alert.predecoder?.program_name ? [{ process_name: alert.predecoder.program_name }] : undefined,
    file_info: alertFiles(alert.syscheck),
    labels: formatLabels([...(rule?.groups ?? []), ["rule", ruleId], ["agent_ip", alert.agent?.ip], ["location", alert.location]]),
    data_source: {
      source_type: SOURCE_TYPE.thirdParty,
      company_name: "Wazuh",
      product_name: "Wazuh",
      product_feature: manager,
      product_module: alert.decoder?.name,
    },
  });

  return { source: SOURCE_ID, scope: manager, key: alertId, episode: "", status: "firing", content };
}

function ruleSeverity(level: number | null | undefined, prefix: string, context: NormalizeContext): Severity {
  const severity = typeof level === "number" ? wazuhSeverity(level) : undefined;
  return severity ?? context.unknownSeverity(`${prefix}rule.level`, level);
}

// A MITRE ATT&CK mapping is the most specific type; without it the rule groups run from broad to narrow.
function ruleType(rule: WazuhAlert["rule"]): Alert["alert_type"] {
  const tactic = rule?.mitre?.tactic?.[0];
  const technique = rule?.mitre?.technique?.[0];
  if (tactic !== undefined || technique !== undefined) {
    const techniqueId = rule?.mitre?.id?.[0];
    return { category: tactic, alert_type: [techniqueId, technique].filter(Boolean).join(" ") };
  }
  const groups = rule?.groups ?? [];
  return groups.length === 0 ? undefined : { category: groups[0], alert_type: groups[groups.length - 1] };
}

function alertNetworks(data: WazuhAlert["data"]): Alert["network_list"] {
  if (!data || (!data.srcip && !data.dstip)) return undefined;
  const destinationPort = portNumber(data.dstport);
  return [
    {
      protocol: data.protocol ?? undefined,
      src_ip: data.srcip ?? undefined,
      src_port: portNumber(data.srcport),
      dest_ip: data.dstip ?? undefined,
      dest_port: destinationPort === undefined ? undefined : String(destinationPort),
    },
  ];
}

function alertFiles(syscheck: WazuhAlert["syscheck"]): Alert["file_info"] {
  if (!syscheck?.path) return undefined;
  return [
    {
      file_path: syscheck.path,
      file_md5: syscheck.md5_after ?? undefined,
      file_hash: syscheck.sha1_after ?? undefined,
      file_sha256: syscheck.sha256_after ?? undefined,
      file_attr: syscheck.perm_after ?? undefined,
    },
  ];
}
