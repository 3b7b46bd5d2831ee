import * as z from "zod";
import { alertSchema, type Alert, type Severity } from "../alert/schema";
import { isSeverity, severityFromLabel } from "../alert/severity";
import { InvalidInputError } from "../errors";
import { formatPath } from "./parse";
import { isPlainRecord, parseJsonPath, parseTargetPath, PathSyntaxError, readPath, readSegment, type PathSegment } from "./json-path";
import { formatLabels } from "./labels";
import { lazily } from "../lazy";
import { setField } from "./shapes";
import { convertTime, explainTimeType, type TimeConverter, type TimeType } from "./time-text";
import { leafCheckFor, type LeafCheck } from "./content-plan";
import type { NormalizeContext } from "./types";

/**
 * Field mappings of the generic source: how one value of the Alert content is taken from a
 * sender's JSON. This module compiles them (checking every target against the Alert schema)
 * and applies them to one payload item.
 */

/** Conversions a field mapping may ask for. */
export const FIELD_TYPES = ["epoch_ms", "epoch_s", "rfc3339", "string", "int"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A source JSON path with the text it was written as. */
export interface SourcePath {
  text: string;
  segments: PathSegment[];
}

/** Zod schema of a JSON path string (`$.alert.uid`) that outputs the parsed path. */
export const sourcePathSchema = lazily(() =>
  z.string().transform((text, context): SourcePath => {
    try {
      return { text, segments: parseJsonPath(text) };
    } catch (error) {
      if (!(error instanceof PathSyntaxError)) throw error;
      context.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  }),
);

const pathSpecSchema = lazily(() => {
  const mappedValueSchema = z.union([z.string(), z.number(), z.boolean()]);

  return z.strictObject({
    path: z.preprocess((path) => (typeof path === "string" ? [path] : path), z.array(sourcePathSchema()).min(1)),
    map: z.record(z.string(), mappedValueSchema).optional(),
    default: z.json().optional(),
    type: z.enum(FIELD_TYPES).optional(),
    join: z.string().optional(),
  });
});

const constSpecSchema = lazily(() => z.strictObject({ const: z.json() }));

/**
 * One entry of a mapping's `fields` as written in the config file: a JSON path string, a
 * `{ path, map, default, type, join }` object, or `{ const }`.
 */
export type FieldSpecConfig = string | z.input<ReturnType<typeof pathSpecSchema>> | z.input<ReturnType<typeof constSpecSchema>>;

/** How the Alert schema types a target, which decides the automatic conversions. */
export type TargetKind = "time" | "string" | "int" | "number" | "other";

/** A field mapping checked against the Alert schema and ready to apply. */
export interface CompiledField {
  /** Target path as written, such as `network_list[0].src_ip`. */
  target: string;
  targetSegments: PathSegment[];
  kind: TargetKind;
  source: ConstSource | PathSource;
  /**
   * Check of a value at a scalar target. Undefined for an object, list or record target, whose
   * values need the whole Alert schema check.
   */
  leaf: LeafCheck | undefined;
}

interface ConstSource {
  kind: "const";
  value: unknown;
}

interface PathSource {
  kind: "path";
  /** Candidate paths; the first one with a value wins. */
  paths: SourcePath[];
  /** A reader of each path, at the index of the path. */
  readers: PathReader[];
  /** `map` keys to values, with a lower-case copy of each key for case-insensitive matches. */
  map: Map<string, string | number | boolean> | undefined;
  default: unknown;
  type: FieldType | undefined;
  join: string | undefined;
}

/** A problem in a mapping, with its path inside the mapping's `fields` object. */
export interface MappingIssue {
  path: PathSegment[];
  message: string;
}

/**
 * Compiles the `fields` object of a mapping. Every problem is reported, not only the first:
 * unknown targets, bad paths, unknown keys, and `const` or `default` values the Alert schema
 * rejects at that target. Targets must not overlap (`data_source` and `data_source.product_name`).
 */
export function compileFields(fields: Readonly<Record<string, unknown>>, report: (issue: MappingIssue) => void): CompiledField[] {
  const compiled: CompiledField[] = [];
  for (const [target, config] of Object.entries(fields)) {
    const field = compileField(target, config, (path, message) => report({ path: [target, ...path], message }));
    if (field !== undefined) compiled.push(field);
  }

  for (const [index, first] of compiled.entries()) {
    for (const second of compiled.slice(index + 1)) {
      if (overlaps(first.targetSegments, second.targetSegments)) {
        report({ path: [second.target], message: `target "${second.target}" overlaps target "${first.target}"; map one of them` });
      }
    }
  }
  return compiled;
}

/** True when one path is a prefix of the other, so both would write the same value. */
export function overlaps(first: readonly PathSegment[], second: readonly PathSegment[]): boolean {
  const length = Math.min(first.length, second.length);
  return first.slice(0, length).every((segment, index) => segment === second[index]);
}

type Report = (path: PathSegment[], message: string) => void;

function compileField(target: string, config: unknown, report: Report): CompiledField | undefined {
  let targetSegments: PathSegment[];
  try {
    targetSegments = parseTargetPath(target);
  } catch (error) {
    if (!(error instanceof PathSyntaxError)) throw error;
    report([], error.message);
    return undefined;
  }

  const resolved = resolveTarget(targetSegments);
  if (typeof resolved === "object") {
    report([], `unknown target "${target}": ${resolved.reason}`);
    return undefined;
  }

  const source = compileSource(config, report);
  if (source === undefined) return undefined;

  const field: CompiledField = { target, targetSegments, kind: resolved, source, leaf: leafCheckFor(targetSegments) };
  checkFixedValue(field, report);
  return field;
}

function compileSource(config: unknown, report: Report): ConstSource | PathSource | undefined {
  const isShortForm = typeof config === "string";
  const isConst = isPlainRecord(config) && Object.hasOwn(config, "const");
  const result = (isConst ? constSpecSchema() : pathSpecSchema()).safeParse(isShortForm ? { path: config } : config);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issuePathInConfig(issue.path, config);
      // zod reports unknown keys at the object that contains them, so each is named at its own path.
      if (issue.code === "unrecognized_keys") for (const key of issue.keys) report([...path, key], "unknown key of a field rule");
      else report(path, issue.message);
    }
    return undefined;
  }

  const spec = result.data;
  if ("const" in spec) return { kind: "const", value: spec.const };
  return {
    kind: "path",
    paths: spec.path,
    readers: spec.path.map((path) => readerOf(path.segments)),
    map: spec.map === undefined ? undefined : mapWithLowerCaseKeys(spec.map),
    default: spec.default,
    type: spec.type,
    join: spec.join,
  };
}

/**
 * Points an issue at the config as written: a short-form string is the field itself, and a
 * single `path` string has no `[0]` although the schema reads it as a list.
 */
function issuePathInConfig(path: readonly PropertyKey[], config: unknown): PathSegment[] {
  if (typeof config === "string") return [];
  const isSinglePath = isPlainRecord(config) && typeof config.path === "string";
  if (isSinglePath && path[0] === "path") return ["path"];
  return path.map(toSegment);
}

function toSegment(segment: PropertyKey): PathSegment {
  return typeof segment === "number" ? segment : String(segment);
}

function mapWithLowerCaseKeys(map: Readonly<Record<string, string | number | boolean>>): Map<string, string | number | boolean> {
  const lookup = new Map<string, string | number | boolean>();
  for (const [key, value] of Object.entries(map)) {
    if (!lookup.has(key.toLowerCase())) lookup.set(key.toLowerCase(), value);
  }
  // Exact keys are added last so they win over a lower-case copy of another key.
  for (const [key, value] of Object.entries(map)) lookup.set(key, value);
  return lookup;
}

/** Checks `const` and `default` values at load time, so a bad one fails at start, not per alert. */
function checkFixedValue(field: CompiledField, report: Report): void {
  const { source } = field;
  const fixed = source.kind === "const" ? source.value : source.default;
  if (fixed === undefined) return;

  const where = source.kind === "const" ? "const" : "default";
  if (field.target === "severity" && !isSeverity(fixed)) {
    report([where], `severity ${where} must be one of Tips, Low, Medium, High, Fatal`);
    return;
  }
  const content: Record<string, unknown> = {};
  setTarget(content, field.targetSegments, coerceToKind(fixed, field.kind));
  const result = alertSchema.safeParse(compactLists(content));
  if (!result.success) report([where], `value does not fit target "${field.target}": ${result.error.issues[0]?.message ?? "invalid"}`);
}

function resolveTarget(segments: readonly PathSegment[]): TargetKind | { reason: string } {
  let schema: z.ZodType = alertSchema;
  const walked: PathSegment[] = [];

  for (const segment of segments) {
    const current = unwrapOptional(schema);
    const here = walked.length === 0 ? "the Alert" : `"${formatPath(walked)}"`;
    if (typeof segment === "number") {
      if (!(current instanceof z.ZodArray)) return { reason: `${here} is not a list` };
      schema = current.element as z.ZodType;
    } else if (current instanceof z.ZodObject) {
      const shape = current.shape as Record<string, z.ZodType>;
      const child = Object.hasOwn(shape, segment) ? shape[segment] : undefined;
      if (child === undefined) return { reason: `${here} has no field "${segment}"` };
      schema = child;
    } else if (current instanceof z.ZodRecord && walked.length > 0) {
      schema = current.valueType as z.ZodType;
    } else {
      return { reason: `${here} has no fields` };
    }
    walked.push(segment);
  }
  return kindOf(unwrapOptional(schema), segments[segments.length - 1]);
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
  return current;
}

function kindOf(schema: z.ZodType, last: PathSegment | undefined): TargetKind {
  if (schema instanceof z.ZodString) return typeof last === "string" && last.endsWith("_time") ? "time" : "string";
  if (schema instanceof z.ZodNumber) return schema.isInt ? "int" : "number";
  if (schema instanceof z.ZodEnum) return "string";
  return "other";
}

/** Formats the location of a source path in the delivery, as shown in errors (`[2].alert.level`). */
export interface PathLocator {
  locate(path: SourcePath): string;
}

/** Settings of {@link resolveFields} besides the item. */
export interface ApplyOptions {
  /** Source id for error messages. */
  sourceId: string;
  context: NormalizeContext;
  /** Formats locations, called only where an error or an unknown severity names one. */
  locator: PathLocator;
  /** Zone for zone-less times; see `convertTime`. */
  timeZone?: string | undefined;
  /** Converter that keeps the times already converted for this item, so each is read once. */
  times?: TimeConverter | undefined;
  /**
   * Severity scale of the source format, such as the CEF scale. It reads a severity value that
   * is not a SecMaster severity before the label words do, also after a `map` that does not
   * list the value.
   */
  severityScale?: ((value: unknown) => Severity | undefined) | undefined;
}

/** Origin of a target's value, for error messages. */
export interface ValueOrigin {
  targetSegments: PathSegment[];
  target: string;
  /**
   * Source path of the value, or undefined for a `const` or `default` value. Its location is
   * formatted with `ApplyOptions.locator` only when an error names it.
   */
  path: SourcePath | undefined;
}

/** The values of a mapping's fields for one item, each at the index of its field. */
export interface ResolvedFields {
  fields: readonly CompiledField[];
  /** The value of each field, or undefined when the field writes nothing. */
  values: unknown[];
  /** Source path of each value, or undefined for a `const` or `default` value. */
  paths: (SourcePath | undefined)[];
  /** True when every value is a scalar that the schema of its target accepts unchanged. */
  allLeavesFit: boolean;
}

/**
 * Resolves the value of every compiled field for one item. A path with no value (missing, null
 * or "") gives no value unless the field has a `default`. A severity `map` replaces only the
 * values it lists, and every severity then goes through the same conversion (SecMaster
 * severities, `severityScale`, label words). A missing or unknown severity goes to
 * `context.unknownSeverity`.
 *
 * @throws InvalidInputError `BRIDGE.PAYLOAD_INVALID` when a value cannot be converted to the
 *   field's `type`, and `BRIDGE.TIME_INVALID` for a time that cannot be read.
 */
export function resolveFields(item: unknown, fields: readonly CompiledField[], options: ApplyOptions): ResolvedFields {
  const values: unknown[] = [];
  const paths: (SourcePath | undefined)[] = [];
  let allLeavesFit = true;
  for (let index = 0; index < fields.length; index++) {
    const field = fields[index] as CompiledField;
    const { source } = field;
    let value: unknown;
    let path: SourcePath | undefined;

    if (source.kind === "const") {
      value = coerceToKind(source.value, field.kind);
    } else {
      let found: unknown;
      for (let pathIndex = 0; pathIndex < source.paths.length && path === undefined; pathIndex++) {
        found = (source.readers[pathIndex] as PathReader)(item);
        if (found !== undefined && found !== null && found !== "") path = source.paths[pathIndex];
      }
      if (path !== undefined) {
        value = convertFound(found, path, field, source, options);
      } else if (source.default !== undefined) {
        value = coerceToKind(source.default, field.kind);
      } else if (field.target === "severity") {
        path = source.paths[0] ?? WHOLE_ITEM;
        value = options.context.unknownSeverity(options.locator.locate(path), undefined);
      }
    }

    values.push(value);
    paths.push(value === undefined ? undefined : path);
    if (value !== undefined && allLeavesFit && (field.leaf === undefined || !field.leaf(value))) allLeavesFit = false;
  }
  return { fields, values, paths, allLeavesFit };
}

/** Writes each resolved value at its target, in the order of the fields. */
export function writeFields(content: Record<string, unknown>, resolved: ResolvedFields): void {
  const { fields, values } = resolved;
  for (let index = 0; index < fields.length; index++) {
    const value = values[index];
    if (value !== undefined) setTarget(content, (fields[index] as CompiledField).targetSegments, value);
  }
}

/** Lists the origin of each resolved value, in the order of the fields. */
export function originsOf(resolved: ResolvedFields): ValueOrigin[] {
  const origins: ValueOrigin[] = [];
  resolved.fields.forEach((field, index) => {
    if (resolved.values[index] === undefined) return;
    origins.push({ targetSegments: field.targetSegments, target: field.target, path: resolved.paths[index] });
  });
  return origins;
}

const WHOLE_ITEM: SourcePath = { text: "$", segments: [] };

/** Reads the value at one path of an item, as `readPath` does. */
type PathReader = (item: unknown) => unknown;

/** Compiles the reader of a path. A path of one member name, the usual case, skips the walk of `readPath`. */
function readerOf(segments: readonly PathSegment[]): PathReader {
  const [first] = segments;
  if (segments.length === 1 && typeof first === "string") return (item) => (isPlainRecord(item) && Object.hasOwn(item, first) ? item[first] : undefined);
  return (item) => readPath(item, segments);
}

function convertFound(found: unknown, path: SourcePath, field: CompiledField, source: PathSource, options: ApplyOptions): unknown {
  // The location is formatted only where a conversion or an unknown severity needs it.
  let value = found;
  if (source.join !== undefined) value = joinValue(value, source.join);
  if (source.map !== undefined) value = lookUp(source.map, value);
  value = convertValue(value, field, path, options);
  if (field.target === "severity") value = toSeverity(value, found, path, options);
  return value;
}

/** Joins a list of scalars, or an object as sorted `key=value` pairs; other values pass through. */
function joinValue(value: unknown, separator: string): unknown {
  if (Array.isArray(value)) return value.map((element) => textOf(element)).join(separator);
  if (isPlainRecord(value)) {
    const labels: Record<string, string> = {};
    for (const [key, element] of Object.entries(value)) {
      Object.defineProperty(labels, key, { value: textOf(element), enumerable: true });
    }
    return formatLabels(labels, separator);
  }
  return value;
}

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? "";
}

function lookUp(map: ReadonlyMap<string, string | number | boolean>, value: unknown): unknown {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return value;
  const key = String(value);
  return map.get(key) ?? map.get(key.toLowerCase()) ?? value;
}

function convertValue(value: unknown, field: CompiledField, path: SourcePath, options: ApplyOptions): unknown {
  const type = field.source.kind === "path" ? field.source.type : undefined;

  switch (type) {
    case "epoch_ms":
    case "epoch_s":
    case "rfc3339": {
      const declared = { setting: `fields["${field.target}"]`, path, sourceId: options.sourceId };
      return explainTimeType(value, type, declared, () => convertTimeValue(value, type, path, options));
    }
    case "string":
      if (isScalar(value)) return String(value);
      throw conversionError(field, options.locator.locate(path), "a string", options.sourceId);
    case "int":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "string" && /^-?\d{1,15}$/.test(value.trim())) return Number(value);
      throw conversionError(field, options.locator.locate(path), "an integer", options.sourceId);
    case undefined:
      return field.kind === "time" ? convertTimeValue(value, "auto", path, options) : coerceToKind(value, field.kind);
  }
}

function convertTimeValue(value: unknown, type: TimeType, path: SourcePath, options: ApplyOptions): string | undefined {
  if (options.times !== undefined) return options.times.convertAt(value, type, options.locator, path);
  return convertTime(value, type, { field: options.locator.locate(path), timeZone: options.timeZone });
}

/**
 * Converts lossless scalar mismatches the target type cannot take as is: numbers and booleans
 * to strings for string targets, decimal strings to numbers for number targets. Anything else
 * is returned unchanged and left to the Alert schema check.
 */
function coerceToKind(value: unknown, kind: TargetKind): unknown {
  if (kind === "string" && (typeof value === "number" || typeof value === "boolean")) return String(value);
  if ((kind === "int" || kind === "number") && typeof value === "string" && /^-?\d+(?:\.\d+)?$/.test(value.trim())) {
    return Number(value);
  }
  return value;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function toSeverity(value: unknown, raw: unknown, path: SourcePath, options: ApplyOptions): Severity {
  if (isSeverity(value)) return value;
  const fromScale = options.severityScale?.(value);
  if (fromScale !== undefined) return fromScale;
  const fromLabel = typeof value === "string" ? severityFromLabel(value) : undefined;
  return fromLabel ?? options.context.unknownSeverity(options.locator.locate(path), raw);
}

function conversionError(field: CompiledField, location: string, expected: string, sourceId: string): InvalidInputError {
  return new InvalidInputError("BRIDGE.PAYLOAD_INVALID", `invalid ${sourceId} alert at ${location}: target ${field.target} needs ${expected}`, {
    field: location,
    fix: `send ${expected} at ${location}, or change fields["${field.target}"] in the ${sourceId} mapping`,
  });
}

/**
 * Writes `value` at a target path, creating the objects and lists on the way. Keys are defined
 * as own properties, so a target inside a record (`system_info.__proto__`) stays plain data.
 */
export function setTarget(content: Record<string, unknown>, segments: readonly PathSegment[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = content;
  const last = segments.length - 1;
  for (let index = 0; index <= last; index++) {
    const segment = segments[index] as PathSegment;
    let child: unknown = value;
    if (index < last) {
      const existing = readSegment(node, segment);
      const nextIsIndex = typeof segments[index + 1] === "number";
      const fits = nextIsIndex ? Array.isArray(existing) : isPlainRecord(existing);
      if (fits) child = existing;
      else if (nextIsIndex) child = [];
      else child = {};
    }
    if (Array.isArray(node)) node[segment as number] = child;
    else setField(node, String(segment), child);
    if (index < last) node = child as Record<string, unknown> | unknown[];
  }
}

/**
 * Drops the holes that mapped lists get when an earlier index has no value (`user_info[0]`
 * missing, `user_info[1]` present), so the later entries move up.
 */
export function compactLists(content: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(content)) {
    if (Array.isArray(value)) content[key] = value.filter((entry) => entry !== undefined);
  }
  return content;
}

/**
 * Builds the Alert schema cut down to the named top-level fields, for content that can have no
 * other field. It checks such content exactly as the whole Alert schema does, with the same
 * output, key order and issues, because every field keeps its own schema and their order. It
 * costs less because zod visits every field of the schema on each parse, present or not.
 *
 * @param fields Top-level Alert fields the content may contain. Names that the Alert does not
 *   have are ignored.
 */
export function alertSchemaFor(fields: ReadonlySet<string>): z.ZodType<Alert> {
  type AlertField = keyof typeof alertSchema.shape;
  const mask: Partial<Record<AlertField, true>> = {};
  for (const name of Object.keys(alertSchema.shape) as AlertField[]) {
    if (fields.has(name)) mask[name] = true;
  }
  return alertSchema.pick(mask);
}

/**
 * Validates mapped content against the Alert schema, or against a schema from
 * {@link alertSchemaFor} that covers every top-level field of the content.
 *
 * @throws InvalidInputError `BRIDGE.PAYLOAD_INVALID` naming the target whose value does not fit
 *   and where in the delivery the value came from.
 */
export function validateContent(
  content: Record<string, unknown>,
  origins: readonly ValueOrigin[],
  sourceId: string,
  locator: PathLocator,
  schema: z.ZodType<Alert> = alertSchema,
): Alert {
  const result = schema.safeParse(compactLists(content));
  if (result.success) return result.data;

  const issue = result.error.issues[0];
  const issuePath = (issue?.path ?? []).map(toSegment);
  const origin = origins.find((candidate) => overlaps(candidate.targetSegments, issuePath) && candidate.targetSegments.length <= issuePath.length);
  const target = origin?.target ?? formatPath(issuePath);
  const field = origin?.path === undefined ? undefined : locator.locate(origin.path);
  const from = field === undefined ? "" : ` (from ${field})`;
  throw new InvalidInputError("BRIDGE.PAYLOAD_INVALID", `invalid ${sourceId} alert: target ${target}${from}: ${issue?.message ?? "invalid value"}`, {
    field,
    cause: result.error,
    fix: `send a value that fits ${target}, or change fields["${target}"] in the ${sourceId} mapping`,
  });
}
