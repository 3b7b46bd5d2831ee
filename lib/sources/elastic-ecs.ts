import * as z from "zod";
import type { Alert, AlertNetwork, AlertResource } from "../alert/schema";
import { normalizeTime } from "../alert/time";
import { countOf, directionOf, joinDistinct, networkEntry, text, type AlertProcess } from "./common";
import { lazily } from "../lazy";
import { isRecord, mergeObjects, setField } from "./shapes";

// Elastic Security alert documents: the `kibana.alert.*` fields of the detection engine plus the
// Elastic Common Schema (ECS) fields copied from the source event. Only the fields the bridge
// maps are declared, and every other field is accepted and dropped.

function geoSchema() {
  return z.object({
    country_iso_code: z.string().optional(),
    city_name: z.string().optional(),
    location: z.object({ lat: z.number(), lon: z.number() }).optional(),
  });
}

function threatSchema() {
  return z.object({
    framework: z.string().optional(),
    tactic: z.object({ id: z.string().optional(), name: z.string().optional() }).optional(),
    technique: z.array(z.object({ id: z.string().optional(), name: z.string().optional() })).optional(),
  });
}

function alertRuleSchema() {
  return z.object({
    uuid: z.string().optional(),
    rule_id: z.string().optional(),
    name: z.string().optional(),
    description: z.string().optional(),
    type: z.string().optional(),
    severity: z.string().optional(),
    risk_score: z.number().min(0).max(100).optional(),
    tags: z.array(z.string()).optional(),
    threat: z.array(threatSchema()).optional(),
    note: z.string().optional(),
    references: z.array(z.string()).optional(),
  });
}

/** Returns the schema of one Elastic Security alert document as `context.alerts` renders it. */
export const securityAlertSchema = lazily(() => {
  // ECS allows most keyword fields to hold one value or an array of values.
  const keywords = z.union([z.string(), z.array(z.string())]);
  const port = z.union([z.number(), z.string()]);

  const endpointSchema = z.object({
    ip: keywords.optional(),
    domain: z.string().optional(),
    port: port.optional(),
    geo: geoSchema().optional(),
  });

  const processFieldsSchema = z.object({
    name: z.string().optional(),
    executable: z.string().optional(),
    pid: z.number().int().optional(),
    command_line: z.string().optional(),
  });

  const hashSchema = z.object({ md5: z.string().optional(), sha1: z.string().optional(), sha256: z.string().optional() });

  return z.object({
    _id: z.string().optional(),
    "@timestamp": z.string().optional(),
    kibana: z.object({
      alert: z.object({
        uuid: z.string().optional(),
        workflow_status: z.string().optional(),
        severity: z.string().optional(),
        risk_score: z.number().min(0).max(100).optional(),
        reason: z.string().optional(),
        original_time: z.string().optional(),
        last_detected: z.string().optional(),
        url: z.string().optional(),
        rule: alertRuleSchema().optional(),
        suppression: z.object({ docs_count: z.number().int().min(0).optional() }).optional(),
      }),
      space_ids: z.array(z.string()).optional(),
    }),
    event: z.object({ module: z.string().optional(), dataset: z.string().optional() }).optional(),
    host: z
      .object({
        id: z.string().optional(),
        name: z.string().optional(),
        hostname: z.string().optional(),
        ip: keywords.optional(),
        os: z.object({ family: z.string().optional(), name: z.string().optional() }).optional(),
      })
      .optional(),
    cloud: z
      .object({
        provider: z.string().optional(),
        region: z.string().optional(),
        account: z.object({ id: z.string().optional() }).optional(),
        project: z.object({ id: z.string().optional() }).optional(),
        instance: z.object({ id: z.string().optional(), name: z.string().optional() }).optional(),
      })
      .optional(),
    source: endpointSchema.optional(),
    destination: endpointSchema.optional(),
    network: z
      .object({ transport: z.string().optional(), protocol: z.string().optional(), direction: z.string().optional() })
      .optional(),
    user: z.object({ id: z.string().optional(), name: z.string().optional() }).optional(),
    process: processFieldsSchema
      .extend({
        start: z.string().optional(),
        user: z.object({ id: z.string().optional() }).optional(),
        parent: processFieldsSchema.optional(),
        hash: hashSchema.optional(),
      })
      .optional(),
    file: z
      .object({ path: z.string().optional(), name: z.string().optional(), hash: hashSchema.optional() })
      .optional(),
    threat: z.object({ software: z.object({ name: z.string().optional(), type: z.string().optional() }).optional() }).optional(),
  });
});

export type SecurityAlert = z.infer<ReturnType<typeof securityAlertSchema>>;

/**
 * Turns dotted keys (`"kibana.alert.uuid": "…"`) into nested objects, so an alert document
 * written with flat ECS field names parses like the nested form Kibana renders by default.
 * Keys starting with `@` or `_` are kept whole. When a nested object and a dotted key describe
 * the same object, their fields are merged; for a scalar conflict the later key wins.
 */
export function expandDottedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (!isRecord(value)) return value;

  const expanded: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = expandDottedKeys(value[key]);
    const whole = key.startsWith("@") || key.startsWith("_") || !key.includes(".");
    if (whole) assignKey(expanded, key, item);
    else assignPath(expanded, key.split("."), item);
  }
  return expanded;
}

// Plain loops and setField: this runs on every key of every Elastic alert document, where
// Object.defineProperty per key and a rest array per step took over half of the normalize time.
function assignPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (let index = 0; index < path.length - 1; index++) {
    const head = path[index] as string;
    const child = Object.hasOwn(node, head) ? node[head] : undefined;
    if (isRecord(child)) {
      node = child;
      continue;
    }
    const next: Record<string, unknown> = {};
    setField(node, head, next);
    node = next;
  }
  assignKey(node, path[path.length - 1] as string, value);
}

function assignKey(target: Record<string, unknown>, key: string, value: unknown): void {
  const existing = Object.hasOwn(target, key) ? target[key] : undefined;
  setField(target, key, isRecord(existing) && isRecord(value) ? mergeRecords(existing, value) : value);
}

function mergeRecords(left: Record<string, unknown>, right: Record<string, unknown>): Record<string, unknown> {
  const merged = mergeObjects(left, {});
  for (const key of Object.keys(right)) assignKey(merged, key, right[key]);
  return merged;
}

function firstKeyword(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === "string" ? text(value) : text(value?.[0]);
}

function geoOf(geo: z.infer<ReturnType<typeof geoSchema>> | undefined): AlertNetwork["src_geo"] {
  if (geo === undefined) return undefined;
  return {
    country_code: text(geo.country_iso_code),
    latitude: geo.location?.lat,
    longitude: geo.location?.lon,
  };
}

/** Builds `network_list` from ECS `source.*`, `destination.*` and `network.*`. */
export function elasticNetwork(alert: SecurityAlert): AlertNetwork[] | undefined {
  const entry = networkEntry({
    source: { address: firstKeyword(alert.source?.ip) ?? text(alert.source?.domain), port: alert.source?.port },
    destination: {
      address: firstKeyword(alert.destination?.ip) ?? text(alert.destination?.domain),
      port: alert.destination?.port,
    },
    protocol: text(alert.network?.transport) ?? text(alert.network?.protocol),
    direction: directionOf(alert.network?.direction),
    sourceGeo: geoOf(alert.source?.geo),
    destinationGeo: geoOf(alert.destination?.geo),
  });
  if (entry === undefined) return undefined;
  // A domain that came with an IP address is kept beside it.
  if (entry.src_ip !== undefined) entry.src_domain = text(alert.source?.domain);
  if (entry.dest_ip !== undefined) entry.dest_domain = text(alert.destination?.domain);
  return [entry];
}

/** Builds `resource_list` from ECS `host.*` and `cloud.*`. */
export function elasticResources(alert: SecurityAlert): AlertResource[] | undefined {
  const host = alert.host;
  const cloud = alert.cloud;
  const name = text(host?.name) ?? text(host?.hostname) ?? text(cloud?.instance?.name);
  const id = text(cloud?.instance?.id) ?? text(host?.id);
  if (name === undefined && id === undefined) return undefined;

  const addresses = typeof host?.ip === "string" ? [host.ip] : (host?.ip ?? []);
  return [
    {
      id,
      name,
      provider: text(cloud?.provider),
      region_id: text(cloud?.region),
      domain_id: text(cloud?.account?.id),
      project_id: text(cloud?.project?.id),
      tags: { ip: joinDistinct(addresses) ?? "", os: text(host?.os?.family) ?? text(host?.os?.name) ?? "" },
    },
  ];
}

/** Builds `process` from ECS `process.*`, including the parent process. */
export function elasticProcesses(alert: SecurityAlert, field: string): AlertProcess[] | undefined {
  const process = alert.process;
  if (process === undefined) return undefined;
  return [
    {
      process_name: text(process.name),
      process_path: text(process.executable),
      process_pid: process.pid,
      process_uid: countOf(process.user?.id),
      process_cmdline: text(process.command_line),
      process_parent_name: text(process.parent?.name),
      process_parent_path: text(process.parent?.executable),
      process_parent_pid: process.parent?.pid,
      process_parent_cmdline: text(process.parent?.command_line),
      process_launche_time: normalizeTime(process.start, { field: `${field}.start` }),
    },
  ];
}

/** Builds `file_info` from ECS `file.*` and from the hashes of the process executable. */
export function elasticFiles(alert: SecurityAlert): Alert["file_info"] {
  const files: NonNullable<Alert["file_info"]> = [];
  const file = alert.file;
  if (file !== undefined) {
    files.push({
      file_path: text(file.path) ?? text(file.name),
      file_hash: text(file.hash?.sha1),
      file_md5: text(file.hash?.md5),
      file_sha256: text(file.hash?.sha256),
    });
  }
  const processHash = alert.process?.hash;
  if (processHash !== undefined) {
    files.push({
      file_path: text(alert.process?.executable),
      file_hash: text(processHash.sha1),
      file_md5: text(processHash.md5),
      file_sha256: text(processHash.sha256),
    });
  }
  return files;
}

/**
 * Builds `alert_type` from the rule's MITRE ATT&CK mapping: tactic names as the category and
 * techniques as `name (id)`.
 */
export function elasticThreatType(threats: ReadonlyArray<z.infer<ReturnType<typeof threatSchema>>> | undefined): Alert["alert_type"] {
  const list = threats ?? [];
  return {
    category: joinDistinct(list.map((threat) => threat.tactic?.name)),
    alert_type: joinDistinct(
      list.flatMap((threat) => threat.technique ?? []).map((technique) => techniqueLabel(technique.name, technique.id)),
    ),
  };
}

function techniqueLabel(name: string | undefined, id: string | undefined): string | undefined {
  const techniqueName = text(name);
  const techniqueId = text(id);
  if (techniqueName === undefined) return techniqueId;
  return techniqueId === undefined ? techniqueName : `${techniqueName} (${techniqueId})`;
}
