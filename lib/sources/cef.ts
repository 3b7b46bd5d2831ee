import { InvalidInputError } from "../errors";
import type { Severity } from "../alert/schema";
import { formatLabels } from "./labels";
import { setField } from "./shapes";
import type { FieldSpecConfig } from "./mapping";

/**
 * One ArcSight Common Event Format (CEF) event, with escapes already decoded.
 *
 * Example line: `CEF:0|ExampleCorp|EdgeFW|9.1|100234|Port scan|7|src=198.51.100.90 cnt=312`.
 */
export interface CefEvent {
  /** Format version after `CEF:` (0 or 1 in practice). */
  version: number;
  deviceVendor: string;
  deviceProduct: string;
  deviceVersion: string;
  /** `Signature ID`, also called `deviceEventClassId`. */
  signatureId: string;
  name: string;
  /** Severity as sent: `0`..`10` or a word such as `High` or `Very-High`. */
  severity: string;
  /** Extension `key=value` pairs. A key sent twice keeps its last value. */
  extensions: Record<string, string>;
}

/** A CEF line that cannot be parsed, with the 1-based column (UTF-16 code units) of the fault. */
export class CefSyntaxError extends InvalidInputError {
  override name = "CefSyntaxError";
  readonly column: number;
  constructor(reason: string, column: number, field: string | undefined) {
    const where = field === undefined ? "" : ` at ${field}`;
    super("BRIDGE.CEF_INVALID", `invalid CEF line${where}, column ${column}: ${reason}`, {
      field,
      fix: "send CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension with | escaped as \\| in the header and = escaped as \\= in extension values",
    });
    this.column = column;
  }
}

const HEADER_FIELD_COUNT = 7;
// Keys in the CEF dictionary and vendor keys (`cs1Label`, `ad.user_name`, `_cefVer`).
const EXTENSION_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Parses one CEF line. Text before `CEF:` (a syslog header) is skipped, and trailing line
 * breaks are ignored.
 *
 * Header fields decode `\|` and `\\`. Extension values decode `\=`, `\\`, `\n` and `\r`; `\|`
 * is accepted too. Pairs are separated by spaces and values may contain spaces: a value runs
 * until the last space before the next `key=`. An unescaped `=` whose preceding word is not a
 * valid key (as in `request=https://a.example/?q=1`) stays part of the value. Trailing spaces of
 * a value are dropped.
 *
 * @param options.field Location of the line in the payload, used in error messages.
 * @throws CefSyntaxError `BRIDGE.CEF_INVALID` naming the column of the first fault.
 */
export function parseCefLine(line: string, options: { field?: string } = {}): CefEvent {
  const { field } = options;
  const text = withoutTrailingLineBreaks(line);

  const start = text.indexOf("CEF:");
  if (start === -1) throw new CefSyntaxError('missing the "CEF:" prefix', 1, field);

  const { fields, end } = parseHeader(text, start + 4, field);
  const [version = "", deviceVendor = "", deviceProduct = "", deviceVersion = "", signatureId = "", name = "", severity = ""] = fields;
  if (!/^\d{1,3}$/.test(version)) throw new CefSyntaxError(`invalid CEF version ${JSON.stringify(version.slice(0, 16))}`, start + 5, field);

  return {
    version: Number(version),
    deviceVendor,
    deviceProduct,
    deviceVersion,
    signatureId,
    name,
    severity: severity.trim(),
    extensions: parseExtension(text, end, field),
  };
}

function withoutTrailingLineBreaks(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x0a || line.charCodeAt(end - 1) === 0x0d)) end -= 1;
  return end === line.length ? line : line.slice(0, end);
}

function parseHeader(text: string, start: number, field: string | undefined): { fields: string[]; end: number } {
  const fields: string[] = [];
  let value = "";
  let index = start;

  while (fields.length < HEADER_FIELD_COUNT) {
    if (index >= text.length) {
      const reason = `the header ends after ${fields.length} of ${HEADER_FIELD_COUNT} "|"-separated fields`;
      throw new CefSyntaxError(reason, index + 1, field);
    }
    const char = text[index];
    const next = text[index + 1];
    if (char === "\\" && (next === "|" || next === "\\")) {
      value += next;
      index += 2;
    } else if (char === "|") {
      fields.push(value);
      value = "";
      index += 1;
    } else {
      // Copy the run up to the next separator or backslash at once rather than char by char.
      const runEnd = nextHeaderSpecial(text, index + 1);
      value += text.slice(index, runEnd);
      index = runEnd;
    }
  }
  return { fields, end: index };
}

const PIPE = 0x7c;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const SPACE = 0x20;
const LOWER_N = 0x6e;
const LOWER_R = 0x72;

/** Returns the index of the first `|` or backslash at or after `from`, or the length. */
function nextHeaderSpecial(text: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === PIPE || code === BACKSLASH) return index;
  }
  return text.length;
}

/** Removes trailing spaces (U+0020 only, not other white space). */
function trimSpacesEnd(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === SPACE) end -= 1;
  return end === value.length ? value : value.slice(0, end);
}

const EXTENSION_ESCAPES: Readonly<Record<string, string>> = { "=": "=", "\\": "\\", "|": "|", n: "\n", r: "\r" };

/** True for the character after a backslash that makes the two an escape in an extension. */
function isExtensionEscape(code: number): boolean {
  return code === EQUALS || code === BACKSLASH || code === PIPE || code === LOWER_N || code === LOWER_R;
}

/**
 * Splits the extension into pairs. The scan works on positions in the raw text and decodes a
 * value only once its end is known, instead of building the decoded text character by
 * character. That is equivalent because escapes never produce or consume a space, and the
 * character after a backslash is never a space, so every space in the raw text is an unescaped
 * space and no escape spans a value's boundary. A key candidate contains no backslash (the key
 * pattern excludes it), so it is the same raw or decoded.
 */
function parseExtension(text: string, start: number, field: string | undefined): Record<string, string> {
  const pairs: Record<string, string> = {};
  let key: string | undefined;
  // Raw position where the current value starts: after the last key's "=", or `start` before any key.
  let valueStart = start;
  // Raw position of the last space since valueStart, or -1.
  let lastSpace = -1;
  // Whether a backslash occurred since valueStart, so the value may need decoding.
  let hasBackslash = false;

  for (let index = start; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === BACKSLASH) {
      hasBackslash = true;
      // An escaped "=" or backslash must not count as a separator or start another escape.
      if (isExtensionEscape(text.charCodeAt(index + 1))) index += 1;
      continue;
    }
    if (code === SPACE) {
      lastSpace = index;
      continue;
    }
    if (code !== EQUALS) continue;

    const keyStart = lastSpace === -1 ? valueStart : lastSpace + 1;
    const candidate = text.slice(keyStart, index);
    const isKey = EXTENSION_KEY.test(candidate);

    if (key === undefined) {
      const before = hasBackslash ? decodeExtensionText(text, valueStart, keyStart) : text.slice(valueStart, keyStart);
      if (!isKey || before.trim() !== "") {
        const found = decodeExtensionText(text, valueStart, index).slice(0, 32);
        throw new CefSyntaxError(`expected an extension key before "=", found ${JSON.stringify(found)}`, index + 1, field);
      }
    } else if (!isKey || lastSpace === -1) {
      // An "=" whose preceding word is not a key stays part of the value.
      continue;
    } else {
      const value = hasBackslash ? decodeExtensionText(text, valueStart, lastSpace) : text.slice(valueStart, lastSpace);
      setField(pairs, key, trimSpacesEnd(value));
    }
    key = candidate;
    valueStart = index + 1;
    lastSpace = -1;
    hasBackslash = false;
  }

  if (key !== undefined) {
    const value = hasBackslash ? decodeExtensionText(text, valueStart, text.length) : text.slice(valueStart);
    setField(pairs, key, trimSpacesEnd(value));
  }
  else if (decodeExtensionText(text, start, text.length).trim() !== "") {
    throw new CefSyntaxError("the extension has text but no key=value pair", start + 1, field);
  }
  return pairs;
}

/**
 * Decodes the extension escapes `\=`, `\\`, `\|`, `\n` and `\r` between `start` and `end`. A
 * backslash before any other character stays as it is.
 */
function decodeExtensionText(text: string, start: number, end: number): string {
  let decoded = "";
  let copied = start;
  for (let index = start; index < end - 1; index += 1) {
    if (text.charCodeAt(index) !== BACKSLASH) continue;
    const escaped = EXTENSION_ESCAPES[text.charAt(index + 1)];
    if (escaped === undefined) continue;
    decoded += text.slice(copied, index) + escaped;
    copied = index + 2;
    index += 1;
  }
  return decoded + text.slice(copied, end);
}

/**
 * Flattens an event into one object with ArcSight's JSON names: the header as `version`,
 * `deviceVendor`, `deviceProduct`, `deviceVersion`, `deviceEventClassId`, `name`, `severity`,
 * and every extension key beside them. Header values win over extension keys of the same name.
 * Mapping paths in the `cef` format (`$.src`, `$.cs1`) read this object.
 */
export function cefRecord(event: CefEvent): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(event.extensions)) setField(record, key, event.extensions[key]);
  record.version = event.version;
  record.deviceVendor = event.deviceVendor;
  record.deviceProduct = event.deviceProduct;
  record.deviceVersion = event.deviceVersion;
  record.deviceEventClassId = event.signatureId;
  record.name = event.name;
  record.severity = event.severity;
  return record;
}

/**
 * CEF severity on SecMaster's scale: `0` Tips, `1`-`3` Low, `4`-`6` Medium, `7`-`8` High,
 * `9`-`10` Fatal, and the words `Low`, `Medium`, `High` and `Very-High` (Fatal). `Unknown` and
 * anything else is left out on purpose, so the caller's unknown-severity rule applies.
 */
export const CEF_SEVERITY_MAP: Readonly<Record<string, Severity>> = {
  "0": "Tips",
  "1": "Low",
  "2": "Low",
  "3": "Low",
  "4": "Medium",
  "5": "Medium",
  "6": "Medium",
  "7": "High",
  "8": "High",
  "9": "Fatal",
  "10": "Fatal",
  low: "Low",
  medium: "Medium",
  high: "High",
  "very-high": "Fatal",
};

/**
 * Reads a value on the CEF severity scale ({@link CEF_SEVERITY_MAP}), ignoring case and outer
 * white space. Returns undefined for a value the scale does not list.
 */
export function cefSeverity(value: unknown): Severity | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const key = String(value).trim().toLowerCase();
  // Own keys only: "constructor" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(CEF_SEVERITY_MAP, key) ? CEF_SEVERITY_MAP[key] : undefined;
}

/**
 * The built-in field mapping of a CEF record onto the Alert, in the generic mapping format.
 * A source mapping's own `fields` replace entries with the same target. `labels` and
 * `description` are computed by {@link cefLabels} and {@link cefDescription}. The severity has
 * no `map` here because the generic source reads every severity of the `cef` format with
 * {@link cefSeverity}, so a mapping's own severity `map` keeps the CEF scale for values it does
 * not list.
 */
export const CEF_FIELD_MAPPING: Readonly<Record<string, FieldSpecConfig>> = {
  title: "$.name",
  severity: "$.severity",
  first_observed_time: { path: ["$.start", "$.rt"] },
  last_observed_time: { path: ["$.end", "$.rt"] },
  count: "$.cnt",
  "data_source.company_name": "$.deviceVendor",
  "data_source.product_name": "$.deviceProduct",
  "alert_type.category": "$.cat",
  "network_list[0].protocol": "$.proto",
  "network_list[0].src_ip": "$.src",
  "network_list[0].src_port": "$.spt",
  "network_list[0].src_domain": "$.shost",
  "network_list[0].dest_ip": "$.dst",
  "network_list[0].dest_port": "$.dpt",
  "network_list[0].dest_domain": "$.dhost",
  "user_info[0].user_name": "$.suser",
  "user_info[0].user_id": "$.suid",
  "user_info[1].user_name": "$.duser",
  "user_info[1].user_id": "$.duid",
  "file_info[0].file_path": { path: ["$.filePath", "$.fname"] },
  "file_info[0].file_hash": "$.fileHash",
};

const CUSTOM_STRING_SLOTS = ["cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3"];

/**
 * Builds the `labels` string of a CEF record: each custom slot `cs1`..`cs6` and `cn1`..`cn3`
 * under its `…Label` name (or the slot name when unlabelled), plus `act` and `signature_id`.
 * Returns undefined when there is nothing to list.
 */
export function cefLabels(record: Readonly<Record<string, unknown>>): string | undefined {
  const labels: Record<string, string> = {};
  for (const slot of CUSTOM_STRING_SLOTS) {
    const value = scalarText(record[slot]);
    if (value === undefined) continue;
    setField(labels, scalarText(record[`${slot}Label`]) ?? slot, value);
  }
  const action = scalarText(record.act);
  if (action !== undefined) labels.act = action;
  const signatureId = scalarText(record.deviceEventClassId);
  if (signatureId !== undefined) labels.signature_id = signatureId;

  return Object.keys(labels).length === 0 ? undefined : formatLabels(labels);
}

/**
 * Builds the description of a CEF record: `msg`, then the request line (`requestMethod`
 * `request`) on its own line. Returns undefined when both are missing.
 */
export function cefDescription(record: Readonly<Record<string, unknown>>): string | undefined {
  const message = scalarText(record.msg);
  const request = scalarText(record.request);
  const method = scalarText(record.requestMethod);
  const requestLine = request === undefined ? undefined : `Request: ${method === undefined ? "" : `${method} `}${request}`;
  const lines = [message, requestLine].filter((line): line is string => line !== undefined);
  return lines.length === 0 ? undefined : lines.join("\n");
}

/**
 * Derives the built-in identity of a CEF record. With `externalId` the key is
 * `vendor|product|externalId`. Without it the key is
 * `vendor|product|signatureId|src|dst` and the episode is the `rt` value as sent (the caller
 * normalizes it), so a repeat of the same event shares the id and a later event gets a new
 * one. The episode is empty when `externalId` is present. Returns undefined when neither
 * `externalId` nor `rt` is present.
 */
export function cefIdentity(record: Readonly<Record<string, unknown>>): { key: string; episode: string } | undefined {
  const vendor = scalarText(record.deviceVendor) ?? "";
  const product = scalarText(record.deviceProduct) ?? "";
  const externalId = scalarText(record.externalId);
  if (externalId !== undefined) return { key: joinIdentityParts([vendor, product, externalId]), episode: "" };

  const eventTime = scalarText(record.rt);
  if (eventTime === undefined) return undefined;
  const parts = [vendor, product, scalarText(record.deviceEventClassId) ?? "", scalarText(record.src) ?? "", scalarText(record.dst) ?? ""];
  return { key: joinIdentityParts(parts), episode: eventTime };
}

/**
 * Joins identity parts with `|`, escaping `\` and `|` inside parts the way CEF headers do, so
 * no two different part lists give the same key.
 */
export function joinIdentityParts(parts: readonly string[]): string {
  let key = "";
  for (let index = 0; index < parts.length; index++) {
    if (index > 0) key += "|";
    key += escapeIdentityPart(parts[index] as string);
  }
  return key;
}

// Most parts contain neither character, and a test skips the two replacements for them.
const IDENTITY_SPECIALS = /[\\|]/;

function escapeIdentityPart(part: string): string {
  if (!IDENTITY_SPECIALS.test(part)) return part;
  return part.replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
}

/** Text of a string, number or boolean; undefined for empty strings and everything else. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
