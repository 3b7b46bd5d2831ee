import { createHash } from "node:crypto";
import * as z from "zod";
import { SOURCE_TYPE, type Alert } from "../alert/schema";
import { ConfigError, InvalidInputError } from "../errors";
import { receivedTime } from "./common";
import { cefDescription, cefIdentity, cefLabels, cefSeverity, CEF_FIELD_MAPPING, joinIdentityParts, parseCefRecord, scalarText } from "./cef";
import { canonicalJson, isPlainRecord, readPath, type PathSegment } from "./json-path";
import {
  alertSchemaFor,
  compileFields,
  FIELD_TYPES,
  originsOf,
  overlaps,
  resolveFields,
  setTarget,
  sourcePathSchema,
  validateContent,
  writeFields,
  type CompiledField,
  type PathLocator,
  type SourcePath,
} from "./mapping";
import { lazily } from "../lazy";
import { ContentPlan } from "./content-plan";
import { formatPath, missingIdentity } from "./parse";
import { explainTimeType, isSupportedTimeZone, TimeConverter } from "./time-text";
import type { AlertStatus, NormalizeContext, NormalizedAlert, SourceAdapter } from "./types";

/**
 * Zod schema of a generic source mapping file. The output is compiled: paths are parsed and
 * every `fields` target is checked against the Alert schema.
 *
 * @example
 * ```json
 * {
 *   "source_key": "custom-idp",
 *   "identity": { "fields": ["$.alert.uid"], "fallback": "sha256-of-canonical-body" },
 *   "status": { "path": "$.alert.state", "resolved_values": ["closed"] },
 *   "fields": { "title": "$.alert.what", "severity": { "path": "$.alert.level", "map": { "P1": "Fatal" }, "default": "Medium" } }
 * }
 * ```
 */
export const genericMappingSchema = lazily(() => {
  const fieldsSchema = z.record(z.string(), z.unknown()).transform((fields, context) =>
    compileFields(fields, (issue) => context.addIssue({ code: "custom", path: issue.path, message: issue.message })),
  );

  const episodeSchema = z.preprocess(
    (episode) => (typeof episode === "string" ? { path: episode } : episode),
    z.strictObject({ path: sourcePathSchema(), type: z.enum(FIELD_TYPES).optional() }),
  );

  return z
    .strictObject({
      source_key: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"),
      display_name: z.string().min(1).optional(),
      format: z.enum(["json", "cef"]).default("json"),
      cef_field: sourcePathSchema().optional(),
      time_zone: z
        .string()
        .refine(isSupportedTimeZone, "must be UTC, a fixed offset such as +08:00, or an IANA zone such as Asia/Shanghai")
        .optional(),
      identity: z
        .strictObject({
          fields: z.array(sourcePathSchema()).default([]),
          fallback: z.enum(["none", "sha256-of-canonical-body"]).default("none"),
          volatile_fields: z.array(sourcePathSchema()).default([]),
          episode: episodeSchema.optional(),
        })
        .optional(),
      status: z
        .strictObject({
          path: sourcePathSchema(),
          resolved_values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
          default: z.enum(["firing", "resolved"]).default("firing"),
        })
        .optional(),
      fields: fieldsSchema.default(() => []),
    })
    .superRefine((mapping, context) => {
      if (mapping.cef_field !== undefined && mapping.format !== "cef") {
        context.addIssue({ code: "custom", path: ["cef_field"], message: 'cef_field needs "format": "cef"' });
      }
      const identity = mapping.identity;
      const hasIdentity = identity !== undefined && (identity.fields.length > 0 || identity.fallback !== "none");
      if (mapping.format === "json" && !hasIdentity) {
        context.addIssue({
          code: "custom",
          path: ["identity"],
          message: 'set identity.fields or identity.fallback "sha256-of-canonical-body"; without an identity every delivery would start a new playbook',
        });
      }
    });
});

/** A generic source mapping as written in its file. */
export type GenericMappingConfig = z.input<ReturnType<typeof genericMappingSchema>>;
/** A checked and compiled generic source mapping. */
export type GenericMapping = z.output<ReturnType<typeof genericMappingSchema>>;

/** Path of the CEF line inside a JSON item when the mapping names none. */
export const DEFAULT_CEF_FIELD = "$.message";

/**
 * Checks a mapping file's content.
 *
 * @param origin Name of the file or setting, used in error messages.
 * @throws ConfigError `BRIDGE.CONFIG_INVALID` listing every problem, each with its key.
 */
export function loadGenericMapping(config: unknown, origin = "generic source mapping"): GenericMapping {
  const result = genericMappingSchema().safeParse(config);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.flatMap((issue) => mappingIssueTexts(issue, origin)));
}

// Names each unknown key at its own path, because zod reports them at the object that contains them,
// and names the mapping as a whole "(mapping)" instead of the "(body)" of a delivery.
function mappingIssueTexts(issue: z.core.$ZodIssue, origin: string): string[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${origin}: ${formatPath([...issue.path, key])}: unknown key; check its spelling against the mapping reference in docs/sources/generic.md`);
  }
  return [`${origin}: ${issue.path.length === 0 ? "(mapping)" : formatPath(issue.path)}: ${issue.message}`];
}

/** One item of a generic delivery: a JSON object, or a CEF line in the `cef` format. */
export type GenericItem = Record<string, unknown> | string;
/** A generic delivery: one item or an array of items, each one alert. */
export type GenericPayload = GenericItem | GenericItem[];

/**
 * Creates the source adapter for one mapping. Its id is the mapping's `source_key`.
 *
 * In the `json` format each item is mapped by `fields`. In the `cef` format each item is a CEF
 * line, or an object that contains one at `cef_field` (default `$.message`). The built-in CEF
 * mapping applies there, and `fields` entries replace it target by target. Their paths read the
 * flattened CEF record (`$.src`, `$.cs1Label`).
 *
 * @param mapping A mapping checked by {@link loadGenericMapping} or `genericMappingSchema`.
 */
export function createGenericAdapter(mapping: GenericMapping): SourceAdapter<GenericPayload> {
  const fields = mapping.format === "cef" ? withBuiltInCefFields(mapping.fields) : mapping.fields;
  const cefField = mapping.cef_field ?? sourcePathSchema().parse(DEFAULT_CEF_FIELD);
  const cefFieldLocation = formatPath(cefField.segments);
  const displayName = mapping.display_name ?? mapping.source_key;
  const schema = lazily(() => payloadSchema(mapping.format));
  const contentSchema = lazily(() => alertSchemaFor(contentFields(fields)));
  const contentPlan = lazily(() => planContent(fields));

  const adapter = {
    id: mapping.source_key,
    displayName,
    get schema() {
      return schema();
    },
    normalize(payload, context) {
      const itemContext: ItemContext = { mapping, fields, cefField, cefFieldLocation, displayName, contentSchema: contentSchema(), contentPlan: contentPlan(), context };
      if (!Array.isArray(payload)) return [normalizeItem(payload, NO_PREFIX, itemContext)];
      const alerts: NormalizedAlert[] = [];
      for (let index = 0; index < payload.length; index++) alerts.push(normalizeItem(payload[index] as GenericItem, [index], itemContext));
      return alerts;
    },
  } satisfies SourceAdapter<GenericPayload>;
  if (mapping.format === "cef") CEF_ADAPTERS.add(adapter);
  return adapter;
}

const CEF_ADAPTERS = new WeakSet<object>();

/**
 * Tells whether an adapter is a generic source in the `cef` format, whose payload may be CEF
 * lines, so that the inbound checks accept raw CEF text as `text/plain`.
 */
export function readsCefLines(adapter: SourceAdapter<unknown>): boolean {
  return CEF_ADAPTERS.has(adapter);
}

let builtInCefFields: CompiledField[] | undefined;

/** Merges the built-in CEF fields with a mapping's own, which replace built-ins they overlap. */
function withBuiltInCefFields(own: readonly CompiledField[]): CompiledField[] {
  builtInCefFields ??= compileFields(CEF_FIELD_MAPPING, (issue) => {
    throw new Error(`built-in CEF mapping is invalid at ${formatPath(issue.path)}: ${issue.message}`);
  });
  const kept = builtInCefFields.filter((builtIn) => !own.some((field) => overlaps(field.targetSegments, builtIn.targetSegments)));
  return [...kept, ...own];
}

function payloadSchema(format: GenericMapping["format"]): z.ZodType<GenericPayload> {
  const isItem = (value: unknown) => isPlainRecord(value) || (format === "cef" && typeof value === "string");
  const expected = format === "cef" ? "a CEF line or a JSON object" : "a JSON object";
  const params = { fix: `send ${expected}, or an array of them, as this source's mapping expects; see docs/sources/generic.md` };
  return z
    .unknown()
    .superRefine((body, context) => {
      if (isItem(body)) return;
      if (!Array.isArray(body)) {
        context.addIssue({ code: "custom", message: `expected ${expected} or an array of them`, params });
        return;
      }
      body.forEach((item, index) => {
        if (!isItem(item)) context.addIssue({ code: "custom", path: [index], message: `expected ${expected}`, params });
      });
    })
    .transform((body) => body as GenericPayload);
}

interface ItemContext {
  mapping: GenericMapping;
  fields: readonly CompiledField[];
  cefField: SourcePath;
  /** Location of `cefField` in a delivery of one JSON object, as errors name it. */
  cefFieldLocation: string;
  displayName: string;
  /** The Alert schema cut down to the fields that {@link normalizeItem} can write. */
  contentSchema: z.ZodType<Alert>;
  contentPlan: ItemContentPlan;
  context: NormalizeContext;
}

/** The content plan of a mapping, with the slot of each field's target. */
interface ItemContentPlan {
  plan: ContentPlan;
  /** The slot of each field's target, at the index of the field. */
  fieldSlots: number[];
  /** Index of the field whose target is `severity`, or -1 when there is none. */
  severityField: number;
}

// Top-level fields that normalizeItem writes besides the mapped targets: its fixed content, the
// CEF labels and description, and the severity it requests when no field sets one.
const FIXED_CONTENT_FIELDS = [
  "title",
  "labels",
  "description",
  "last_observed_time",
  "create_time",
  "count",
  "data_source",
  "verification_state",
  "handle_status",
  "severity",
];

// Paths of the values that normalizeItem writes besides the mapped targets, in the order in
// which it writes them. A content plan gives them the first slots, in this order.
const FIXED_CONTENT_PATHS: readonly (readonly PathSegment[])[] = [
  ["title"],
  ["labels"],
  ["description"],
  ["last_observed_time"],
  ["create_time"],
  ["count"],
  ["data_source", "source_type"],
  ["data_source", "product_name"],
  ["verification_state"],
  ["handle_status"],
  ["severity"],
];
const SEVERITY_SLOT = 10;

function planContent(fields: readonly CompiledField[]): ItemContentPlan {
  const plan = new ContentPlan([...FIXED_CONTENT_PATHS, ...fields.map((field) => field.targetSegments)]);
  return {
    plan,
    fieldSlots: fields.map((field) => plan.slotOf(field.targetSegments)),
    severityField: fields.findIndex((field) => field.target === "severity"),
  };
}

/** Lists the top-level Alert fields that an item's content can contain. */
function contentFields(fields: readonly CompiledField[]): Set<string> {
  const names = new Set(FIXED_CONTENT_FIELDS);
  for (const field of fields) names.add(String(field.targetSegments[0]));
  return names;
}

const NO_PREFIX: readonly PathSegment[] = [];

function normalizeItem(item: GenericItem, prefix: readonly PathSegment[], itemContext: ItemContext): NormalizedAlert {
  const { mapping, context } = itemContext;
  const { root, locator, computed } = readItem(item, prefix, itemContext);

  const times = new TimeConverter(mapping.time_zone);
  const { key, episode } = identify(root, mapping, locator, times);
  const status = statusOf(root, mapping);
  const receivedAt = receivedTime(context);

  const severityScale = mapping.format === "cef" ? cefSeverity : undefined;
  const options = { sourceId: mapping.source_key, context, locator, timeZone: mapping.time_zone, times, severityScale };
  const resolved = resolveFields(root, itemContext.fields, options);

  // The values of FIXED_CONTENT_PATHS come first, in its order. Mapped values replace them target
  // by target and fill the slots after them.
  const { plan, fieldSlots, severityField } = itemContext.contentPlan;
  const values: unknown[] = new Array(plan.slotCount);
  values[0] = `${itemContext.displayName} alert ${key}`;
  values[1] = computed.labels;
  values[2] = computed.description;
  values[3] = receivedAt;
  values[4] = receivedAt;
  values[5] = 1;
  values[6] = SOURCE_TYPE.thirdParty;
  values[7] = itemContext.displayName;
  values[8] = "Unknown";
  values[9] = status === "resolved" ? "Closed" : "Open";
  if (severityField === -1 || resolved.values[severityField] === undefined) {
    values[SEVERITY_SLOT] = context.unknownSeverity(`${mapping.source_key} fields.severity`, undefined);
  }

  let content: Alert;
  if (resolved.allLeavesFit) {
    // Every value fits its target, so the content is built in the schema's order without the check.
    for (let index = 0; index < fieldSlots.length; index++) {
      const value = resolved.values[index];
      if (value !== undefined) values[fieldSlots[index] as number] = value;
    }
    content = plan.build(values);
  } else {
    const written: Record<string, unknown> = {};
    FIXED_CONTENT_PATHS.forEach((path, index) => {
      if (values[index] !== undefined) setTarget(written, path, values[index]);
    });
    writeFields(written, resolved);
    content = validateContent(written, originsOf(resolved), mapping.source_key, locator, itemContext.contentSchema);
  }
  return { source: mapping.source_key, scope: "", key, episode, status, content };
}

interface ReadItem {
  /** The value mapping paths read: the JSON item, or the flattened CEF record. */
  root: unknown;
  locator: PathLocator;
  /** Content computed before `fields` apply (CEF labels and description). */
  computed: { labels?: string; description?: string };
}

/**
 * Locates a path of a JSON item: the item's index in the delivery followed by the path. A class
 * rather than a closure per item, and the location is formatted only when an error names it.
 */
class JsonItemLocator implements PathLocator {
  readonly #prefix: readonly PathSegment[];

  constructor(prefix: readonly PathSegment[]) {
    this.#prefix = prefix;
  }

  locate(path: SourcePath): string {
    return formatPath([...this.#prefix, ...path.segments]);
  }
}

/** Locates a path of a flattened CEF record: the CEF line's location, then the path inside it. */
class CefRecordLocator implements PathLocator {
  readonly #lineLocation: string;

  constructor(lineLocation: string) {
    this.#lineLocation = lineLocation;
  }

  locate(path: SourcePath): string {
    return `${this.#lineLocation} (CEF ${formatPath(path.segments)})`;
  }
}

function readItem(item: GenericItem, prefix: readonly PathSegment[], { mapping, cefField, cefFieldLocation }: ItemContext): ReadItem {
  if (mapping.format === "json") {
    return { root: item, locator: new JsonItemLocator(prefix), computed: {} };
  }

  let lineLocation: string;
  if (typeof item === "string") lineLocation = formatPath(prefix);
  else if (prefix.length === 0) lineLocation = cefFieldLocation;
  else lineLocation = formatPath([...prefix, ...cefField.segments]);
  const line = typeof item === "string" ? item : readPath(item, cefField.segments);
  if (typeof line !== "string" || line === "") {
    throw new InvalidInputError("BRIDGE.PAYLOAD_INVALID", `invalid ${mapping.source_key} payload at ${lineLocation}: expected a CEF line`, {
      field: lineLocation,
      fix: `send the CEF line as a string at ${cefField.text}, or set cef_field in the ${mapping.source_key} mapping`,
    });
  }

  const record = parseCefRecord(line, { field: lineLocation });
  const computed: ReadItem["computed"] = {};
  const labels = cefLabels(record);
  const description = cefDescription(record);
  if (labels !== undefined) computed.labels = labels;
  if (description !== undefined) computed.description = description;
  return { root: record, locator: new CefRecordLocator(lineLocation), computed };
}

/**
 * Derives key and episode. The key comes from `identity.fields` (one value as is, several
 * joined with `|`); in the CEF format without `identity.fields`, from the built-in CEF rule.
 * When that fails, `identity.fallback` may hash the canonical item without its volatile fields.
 */
function identify(
  root: unknown,
  mapping: GenericMapping,
  locator: PathLocator,
  times: TimeConverter,
): { key: string; episode: string } {
  const identity = mapping.identity;
  let key: string | undefined;
  let episode = "";
  let missingField = "identity.fields";
  let missingProblem: string | undefined;

  if (identity !== undefined && identity.fields.length > 0) {
    const values = identity.fields.map((path) => scalarText(readPath(root, path.segments)));
    const missingIndex = values.indexOf(undefined);
    if (missingIndex === -1) key = values.length === 1 ? values[0] : joinIdentityParts(values as string[]);
    else missingField = locator.locate(identity.fields[missingIndex] as SourcePath);
  } else if (mapping.format === "cef") {
    const builtIn = isPlainRecord(root) ? cefIdentity(root) : undefined;
    if (builtIn !== undefined) {
      key = builtIn.key;
      episode = times.convertAt(builtIn.episode, "auto", locator, CEF_RT_PATH) ?? builtIn.episode;
    } else {
      missingField = locator.locate(CEF_EXTERNAL_ID_PATH);
      missingProblem = "the CEF event has neither externalId nor rt";
    }
  }

  if (key === undefined) {
    if (identity?.fallback !== "sha256-of-canonical-body") {
      const include = missingProblem === undefined ? missingField : "the CEF key externalId or rt";
      const fix = `make the sender include ${include}, or set identity.fallback "sha256-of-canonical-body" in the ${mapping.source_key} mapping`;
      return missingIdentity(mapping.source_key, missingField, { ...(missingProblem === undefined ? {} : { problem: missingProblem }), fix });
    }
    const volatile = identity.volatile_fields.map((path) => path.segments);
    key = `sha256:${createHash("sha256").update(canonicalJson(root, volatile)).digest("hex")}`;
  }

  if (identity?.episode !== undefined) episode = episodeOf(root, identity.episode, mapping, locator, times);
  return { key, episode };
}

const CEF_RT_PATH: SourcePath = { text: "$.rt", segments: ["rt"] };
const CEF_EXTERNAL_ID_PATH: SourcePath = { text: "$.externalId", segments: ["externalId"] };

function episodeOf(
  root: unknown,
  { path, type }: { path: SourcePath; type?: (typeof FIELD_TYPES)[number] | undefined },
  mapping: GenericMapping,
  locator: PathLocator,
  times: TimeConverter,
): string {
  const value = readPath(root, path.segments);

  const isTime = type === "epoch_ms" || type === "epoch_s" || type === "rfc3339";
  const declared = { setting: "identity.episode", path, sourceId: mapping.source_key };
  const episode = isTime ? explainTimeType(value, type, declared, () => times.convertAt(value, type, locator, path)) : scalarText(value);
  if (episode !== undefined) return episode;
  const location = locator.locate(path);
  return missingIdentity(mapping.source_key, location, { fix: `make the sender include ${location}, or change identity.episode in the ${mapping.source_key} mapping` });
}

function statusOf(root: unknown, mapping: GenericMapping): AlertStatus {
  const status = mapping.status;
  if (status === undefined) return "firing";
  const value = scalarText(readPath(root, status.path.segments));
  if (value === undefined) return status.default;
  const resolved = status.resolved_values.some((candidate) => String(candidate).toLowerCase() === value.toLowerCase());
  return resolved ? "resolved" : "firing";
}
