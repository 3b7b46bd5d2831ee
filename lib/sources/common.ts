import { hash } from "node:crypto";
import { isIP } from "node:net";
import type * as z from "zod";
import { SOURCE_TYPE, type Alert, type AlertNetwork, type AlertResource, type Severity } from "../alert/schema";
import { isSeverity, severityFromLabel } from "../alert/severity";
import { formatTime } from "../alert/time";
import { ConfigError } from "../errors";
import { quoteJsonString } from "./json-path";
import { formatPath } from "./parse";
import { isRecord, portNumber } from "./shapes";
import type { AlertStatus, NormalizeContext } from "./types";

/** Formats the receipt time of the delivery as RFC 3339 UTC with milliseconds. */
export function receivedTime(context: NormalizeContext): string {
  return formatTime(context.receivedAt.getTime());
}

/** Returns the trimmed string, or undefined when the value is not a string or is blank. */
export function text(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** Returns the distinct non-blank strings joined with `, `, or undefined when there are none. */
export function joinDistinct(values: Iterable<string | undefined>): string | undefined {
  const seen = new Set<string>();
  for (const value of values) {
    const trimmed = text(value);
    if (trimmed !== undefined) seen.add(trimmed);
  }
  return seen.size === 0 ? undefined : [...seen].join(", ");
}

/** Builds the `data_source` of a third-party product (`source_type` 2). */
export function thirdPartyDataSource(fields: {
  product_name: string;
  company_name: string;
  product_feature?: string | undefined;
  product_module?: string | undefined;
}): NonNullable<Alert["data_source"]> {
  return { source_type: SOURCE_TYPE.thirdParty, ...fields };
}

/** Maps the lifecycle state onto SecMaster's `handle_status`. */
export function handleStatusOf(status: AlertStatus): "Open" | "Closed" {
  return status === "resolved" ? "Closed" : "Open";
}

/**
 * Maps a severity word with `lookup`. A missing or blank word and a word the map does not know
 * both go to `context.unknownSeverity`, which logs them and returns the configured default.
 * Whatever `lookup` returns is checked, so a word such as `constructor` that reaches an
 * inherited property of a plain-object map cannot leak a non-severity into the content.
 *
 * @param field JSON path of the word in the delivery, for the log entry.
 */
export function severityOf(
  value: string | null | undefined,
  field: string,
  context: NormalizeContext,
  lookup: (word: string) => Severity | undefined = severityFromLabel,
): Severity {
  const word = text(value);
  if (word === undefined) return context.unknownSeverity(field, value ?? undefined);
  const mapped = lookup(word);
  return isSeverity(mapped) ? mapped : context.unknownSeverity(field, value);
}

/** Returns a case-insensitive lookup in a severity map that reads own properties only. */
export function severityMapLookup(map: Readonly<Record<string, Severity>>): (word: string) => Severity | undefined {
  return (word) => {
    const key = word.trim().toLowerCase();
    return Object.hasOwn(map, key) ? map[key] : undefined;
  };
}

/**
 * Returns the SHA-256 of a JSON value in canonical form (object keys sorted at every level), so
 * the same row hashes the same whatever order the sender wrote its fields in.
 */
export function canonicalHash(value: unknown): string {
  return hash("sha256", canonicalJson(value), "hex");
}

// Loops rather than map and join, which built two arrays per level for every Splunk row.
function canonicalJson(value: unknown): string {
  if (typeof value === "string") return quoteJsonString(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ",";
      // A hole stays empty, as Array.prototype.map and join left it.
      if (index in value) out += canonicalJson(value[index]);
    }
    return `${out}]`;
  }
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    let out = "{";
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as string;
      if (index > 0) out += ",";
      out += `${quoteJsonString(key)}:${canonicalJson(value[key])}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Validates source-specific settings passed in `NormalizeContext.options`.
 *
 * @throws ConfigError `BRIDGE.CONFIG_INVALID` listing every invalid setting.
 */
export function parseSourceOptions<T>(schema: z.ZodType<T>, options: unknown, source: string): T {
  const cached = cachedSourceOptions(schema, options);
  if (cached !== undefined) return cached.value;

  const result = schema.safeParse(options ?? {});
  if (result.success) return rememberSourceOptions(schema, options, result.data);
  throw new ConfigError(
    result.error.issues.map((issue) => `${source} source options at ${formatPath(issue.path)}: ${issue.message}`),
  );
}

interface ParsedOptions {
  absent: { value: unknown } | undefined;
  byObject: WeakMap<object, unknown>;
}

// The runtime reads BRIDGE_SOURCE_OPTIONS once at start and passes the same object, or
// undefined, with every delivery, so each one is parsed once per schema instead of per delivery.
const parsedOptions = new WeakMap<z.ZodType, ParsedOptions>();

/**
 * Returns the settings that {@link rememberSourceOptions} stored for this schema and options
 * value, or undefined when there are none. Options objects must not change after their first
 * use, because the check is not run again for the same object.
 */
export function cachedSourceOptions<T>(schema: z.ZodType<T>, options: unknown): { value: T } | undefined {
  const parsed = parsedOptions.get(schema);
  if (parsed === undefined) return undefined;
  if (options === undefined) return parsed.absent as { value: T } | undefined;
  if (typeof options !== "object" || options === null || !parsed.byObject.has(options)) return undefined;
  return { value: parsed.byObject.get(options) as T };
}

/** Stores the settings parsed from `options` with `schema` and returns them. */
export function rememberSourceOptions<T>(schema: z.ZodType<T>, options: unknown, value: T): T {
  let parsed = parsedOptions.get(schema);
  if (parsed === undefined) {
    parsed = { absent: undefined, byObject: new WeakMap() };
    parsedOptions.set(schema, parsed);
  }
  if (options === undefined) parsed.absent = { value };
  else if (typeof options === "object" && options !== null) parsed.byObject.set(options, value);
  return value;
}

/** Maps the usual words for traffic direction (ECS, Splunk CIM) onto `IN` and `OUT`. */
export function directionOf(value: string | undefined): "IN" | "OUT" | undefined {
  switch (value?.trim().toLowerCase()) {
    case "in":
    case "inbound":
    case "ingress":
      return "IN";
    case "out":
    case "outbound":
    case "egress":
      return "OUT";
    default:
      return undefined;
  }
}

/** One end of a connection as a sender reports it: an IP address or a host name, and a port. */
export interface Endpoint {
  address?: string | undefined;
  port?: unknown;
}

/**
 * Builds one `network_list` entry. An address that parses as IPv4 or IPv6 goes to `*_ip`, any
 * other non-blank address to `*_domain`. Returns undefined when neither end has an address.
 */
export function networkEntry(fields: {
  source?: Endpoint;
  destination?: Endpoint;
  protocol?: string | undefined;
  direction?: "IN" | "OUT" | undefined;
  sourceGeo?: AlertNetwork["src_geo"];
  destinationGeo?: AlertNetwork["dest_geo"];
}): AlertNetwork | undefined {
  const source = addressFields(fields.source?.address);
  const destination = addressFields(fields.destination?.address);
  if (source === undefined && destination === undefined) return undefined;

  const destinationPort = portNumber(fields.destination?.port);
  return {
    direction: fields.direction,
    protocol: text(fields.protocol)?.toLowerCase(),
    src_ip: source?.ip,
    src_domain: source?.domain,
    src_port: portNumber(fields.source?.port),
    src_geo: fields.sourceGeo,
    dest_ip: destination?.ip,
    dest_domain: destination?.domain,
    dest_port: destinationPort === undefined ? undefined : String(destinationPort),
    dest_geo: fields.destinationGeo,
  };
}

function addressFields(address: string | undefined): { ip?: string; domain?: string } | undefined {
  const value = text(address);
  if (value === undefined) return undefined;
  return isAddress(value) ? { ip: value } : { domain: value };
}

/** True when the string is an IPv4 or IPv6 address. */
export function isIpAddress(value: string | undefined): boolean {
  return value !== undefined && isAddress(value.trim());
}

/**
 * Returns `isIP(value) !== 0`. Text with no ":" and a character other than a digit or "." is
 * neither an IPv6 address, which always contains ":", nor a dotted IPv4 address, so host names
 * skip the address patterns of `isIP`.
 */
function isAddress(value: string): boolean {
  let onlyDigitsAndDots = true;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x3a) return isIP(value) !== 0;
    if (code !== 0x2e && (code < 0x30 || code > 0x39)) onlyDigitsAndDots = false;
  }
  return onlyDigitsAndDots && isIP(value) !== 0;
}

/** A flat record of string fields, such as alert labels or a Splunk result row. */
export type FlatFields = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Returns the first non-blank value among the named fields. A multivalue field gives its first item. */
export function firstField(fields: FlatFields, names: readonly string[]): string | undefined {
  for (const name of names) {
    if (!Object.hasOwn(fields, name)) continue;
    const raw = fields[name];
    const value = text(typeof raw === "string" ? raw : raw?.[0]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Field names that label-based senders and search results use for the parts of a connection.
 * The first name present wins.
 */
export const FLAT_NETWORK_FIELDS = {
  sourceAddress: ["src_ip", "source_ip", "client_ip", "src", "src_host"],
  sourcePort: ["src_port", "source_port", "sport"],
  destinationAddress: ["dest_ip", "destination_ip", "dst_ip", "dest", "dst", "dest_host"],
  destinationPort: ["dest_port", "destination_port", "dst_port", "dport"],
  protocol: ["transport", "protocol", "proto"],
  direction: ["direction"],
} as const;

/** Field names that carry user names in label sets and search results. */
export const FLAT_USER_FIELDS = ["user", "user_name", "username", "src_user", "dest_user"] as const;

/** Builds `network_list` from a flat record with the names in {@link FLAT_NETWORK_FIELDS}. */
export function networkFromFlatFields(fields: FlatFields): AlertNetwork[] | undefined {
  const entry = networkEntry({
    source: {
      address: firstField(fields, FLAT_NETWORK_FIELDS.sourceAddress),
      port: firstField(fields, FLAT_NETWORK_FIELDS.sourcePort),
    },
    destination: {
      address: firstField(fields, FLAT_NETWORK_FIELDS.destinationAddress),
      port: firstField(fields, FLAT_NETWORK_FIELDS.destinationPort),
    },
    protocol: firstField(fields, FLAT_NETWORK_FIELDS.protocol),
    direction: directionOf(firstField(fields, FLAT_NETWORK_FIELDS.direction)),
  });
  return entry === undefined ? undefined : [entry];
}

/**
 * Builds `user_info` from the user fields of a flat record, one entry per distinct name. Every
 * value of a multivalue field counts.
 */
export function usersFromFlatFields(fields: FlatFields): Array<{ user_name: string }> | undefined {
  const names = new Set<string>();
  for (const name of FLAT_USER_FIELDS) {
    if (!Object.hasOwn(fields, name)) continue;
    const raw = fields[name];
    for (const value of typeof raw === "string" ? [raw] : (raw ?? [])) {
      const trimmed = text(value);
      if (trimmed !== undefined) names.add(trimmed);
    }
  }
  return names.size === 0 ? undefined : [...names].map((user_name) => ({ user_name }));
}

/** One `process` entry of the Alert content. */
export type AlertProcess = NonNullable<Alert["process"]>[number];

// Most specific first: a pod alert from kube-state-metrics has the exporter as `instance`.
const TARGET_LABELS = ["pod", "instance", "namespace", "cluster"] as const;

/**
 * Builds the monitored resource from the target labels of a Prometheus-style alert. `name` is
 * the most specific of `pod`, `instance`, `namespace` and `cluster`, and `type` names that label.
 * `tags` contains those of the four that are present, and `region_id` comes from a `region` label.
 */
export function resourceFromTargetLabels(labels: Readonly<Record<string, string>>, provider: string): AlertResource[] | undefined {
  const present = TARGET_LABELS.filter((label) => text(labels[label]) !== undefined);
  const [mostSpecific] = present;
  if (mostSpecific === undefined) return undefined;
  return [
    {
      name: labels[mostSpecific],
      type: mostSpecific,
      provider,
      region_id: text(labels.region),
      tags: Object.fromEntries(present.map((label) => [label, labels[label] ?? ""])),
    },
  ];
}

/** Reads a non-negative integer from a number or a decimal string, or returns undefined. */
export function countOf(value: unknown): number | undefined {
  const number = typeof value === "string" && /^\d{1,15}$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) return undefined;
  return number;
}

/** Sorts a lowercase hex digest into the `file_info` field its length implies. */
export function hashFields(hash: string | undefined): { file_md5?: string; file_sha256?: string } {
  const value = text(hash)?.toLowerCase();
  if (value === undefined || !/^[0-9a-f]+$/.test(value)) return {};
  if (value.length === 32) return { file_md5: value };
  if (value.length === 64) return { file_sha256: value };
  return {};
}
