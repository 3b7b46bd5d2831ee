import { InvalidInputError } from "../errors";
import type { Severity } from "../alert/schema";
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
  const { text, header, end } = parseHeaderOf(line, field);
  return {
    version: header.version,
    deviceVendor: header.deviceVendor,
    deviceProduct: header.deviceProduct,
    deviceVersion: header.deviceVersion,
    signatureId: header.signatureId,
    name: header.name,
    severity: header.severity,
    extensions: parseExtension(text, end, field, {}) as Record<string, string>,
  };
}

/**
 * Parses one CEF line into the flattened record that {@link cefRecord} builds, the same object as
 * `cefRecord(parseCefLine(line, options))` without the event in between.
 *
 * @throws CefSyntaxError `BRIDGE.CEF_INVALID` as {@link parseCefLine} does.
 */
export function parseCefRecord(line: string, options: { field?: string } = {}): Record<string, unknown> {
  const { field } = options;
  const { text, header, end } = parseHeaderOf(line, field);
  const record = parseExtension(text, end, field, {});
  setHeaderFields(record, header);
  return record;
}

/** The header of a CEF event. */
type CefHeader = Omit<CefEvent, "extensions">;

/** Finds the `CEF:` prefix and parses the header. `end` is where the extension starts in `text`. */
function parseHeaderOf(line: string, field: string | undefined): { text: string; header: CefHeader; end: number } {
  const text = withoutTrailingLineBreaks(line);

  const start = text.indexOf("CEF:");
  if (start === -1) throw new CefSyntaxError('missing the "CEF:" prefix', 1, field);

  // parseHeader returns all seven fields or throws.
  const { fields, end } = parseHeader(text, start + 4, field);
  const version = fields[0] as string;
  if (!/^\d{1,3}$/.test(version)) throw new CefSyntaxError(`invalid CEF version ${JSON.stringify(version.slice(0, 16))}`, start + 5, field);

  const header: CefHeader = {
    version: Number(version),
    deviceVendor: fields[1] as string,
    deviceProduct: fields[2] as string,
    deviceVersion: fields[3] as string,
    signatureId: fields[4] as string,
    name: fields[5] as string,
    severity: (fields[6] as string).trim(),
  };
  return { text, header, end };
}

function withoutTrailingLineBreaks(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x0a || line.charCodeAt(end - 1) === 0x0d)) end -= 1;
  return end === line.length ? line : line.slice(0, end);
}

const PIPE = 0x7c;
const BACKSLASH = 0x5c;
const SPACE = 0x20;

/**
 * Splits the seven header fields. The scan jumps from `|` to `|`. A `|` ends a field unless it
 * is escaped, that is unless an odd number of backslashes directly precede it: backslashes pair
 * up as `\\` escapes, and a lone backslash before any other character stays as it is. A field is
 * decoded only when it contains a backslash.
 */
function parseHeader(text: string, start: number, field: string | undefined): { fields: string[]; end: number } {
  const fields: string[] = [];
  let fieldStart = start;
  let searchFrom = start;
  let nextBackslash = -1;

  while (fields.length < HEADER_FIELD_COUNT) {
    const pipe = text.indexOf("|", searchFrom);
    if (pipe === -1) {
      const reason = `the header ends after ${fields.length} of ${HEADER_FIELD_COUNT} "|"-separated fields`;
      throw new CefSyntaxError(reason, text.length + 1, field);
    }
    searchFrom = pipe + 1;
    if (isEscaped(text, pipe, fieldStart)) continue;

    nextBackslash = firstBackslashFrom(text, fieldStart, nextBackslash);
    fields.push(nextBackslash < pipe ? decodeHeaderText(text, fieldStart, pipe) : text.slice(fieldStart, pipe));
    fieldStart = pipe + 1;
  }
  return { fields, end: fieldStart };
}

/** True when an odd number of backslashes directly precede `index`, counting none before `from`. */
function isEscaped(text: string, index: number, from: number): boolean {
  let count = 0;
  for (let position = index - 1; position >= from && text.charCodeAt(position) === BACKSLASH; position -= 1) count += 1;
  return count % 2 === 1;
}

/**
 * Returns the position of the first backslash at or after `from`, or the length of the text when
 * there is none. `known` is the result of the previous call, with a `from` no greater than this
 * one, or -1, so that a scan that moves forward searches each part of the text once.
 */
function firstBackslashFrom(text: string, from: number, known: number): number {
  if (known >= from) return known;
  const found = text.indexOf("\\", from);
  return found === -1 ? text.length : found;
}

/** Decodes the header escapes `\|` and `\\` between `start` and `end`. Other backslashes stay. */
function decodeHeaderText(text: string, start: number, end: number): string {
  let decoded = "";
  let copied = start;
  for (let index = start; index < end - 1; index += 1) {
    if (text.charCodeAt(index) !== BACKSLASH) continue;
    const next = text.charCodeAt(index + 1);
    if (next !== PIPE && next !== BACKSLASH) continue;
    decoded += text.slice(copied, index);
    copied = index + 1;
    index += 1;
  }
  return decoded + text.slice(copied, end);
}

/** Removes trailing spaces (U+0020 only, not other white space). */
function trimSpacesEnd(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === SPACE) end -= 1;
  return end === value.length ? value : value.slice(0, end);
}

const EXTENSION_ESCAPES: Readonly<Record<string, string>> = { "=": "=", "\\": "\\", "|": "|", n: "\n", r: "\r" };

/**
 * Splits the extension into pairs, sets each in `pairs` and returns it.
 *
 * The scan jumps from `=` to `=`. An `=` is escaped when an odd number of backslashes directly
 * precede it, as a header `|` is. The character after a backslash is never a space, so every
 * space in the raw text is an unescaped space and no escape spans a value's boundary. A value is
 * therefore decoded only once its end is known, and only when it contains a backslash. A key
 * candidate contains no backslash (the key pattern excludes it), so it is the same raw or
 * decoded. Every backslash, space and `=` is visited a bounded number of times, so the time
 * grows linearly with the length of the line.
 */
function parseExtension(text: string, start: number, field: string | undefined, pairs: Record<string, unknown>): Record<string, unknown> {
  let key: string | undefined;
  // Raw position where the current value starts: after the last key's "=", or `start` before any key.
  let valueStart = start;
  // Raw position of the last space since valueStart and before the current "=", or -1.
  let lastSpace = -1;
  // The first space that the scan has not passed yet, or -1 when there is none.
  let nextSpace = text.indexOf(" ", start);
  // Start of the last key candidate that was not a key. A later candidate with the same start
  // contains that candidate's "=", so it is not a key either and need not be scanned again.
  let rejectedKeyStart = -1;
  let nextBackslash = -1;
  let searchFrom = start;

  for (;;) {
    const index = text.indexOf("=", searchFrom);
    if (index === -1) break;
    searchFrom = index + 1;
    if (isEscaped(text, index, valueStart)) continue;
    while (nextSpace !== -1 && nextSpace < index) {
      lastSpace = nextSpace;
      nextSpace = text.indexOf(" ", nextSpace + 1);
    }

    // An "=" whose preceding word is not a key stays part of the value.
    if (key !== undefined && lastSpace === -1) continue;
    const keyStart = lastSpace === -1 ? valueStart : lastSpace + 1;
    const isKey = keyStart !== rejectedKeyStart && isExtensionKey(text, keyStart, index);
    nextBackslash = firstBackslashFrom(text, valueStart, nextBackslash);

    if (key === undefined) {
      const before = nextBackslash < keyStart ? decodeExtensionText(text, valueStart, keyStart) : text.slice(valueStart, keyStart);
      if (!isKey || before.trim() !== "") {
        const found = decodeExtensionText(text, valueStart, index).slice(0, 32);
        throw new CefSyntaxError(`expected an extension key before "=", found ${JSON.stringify(found)}`, index + 1, field);
      }
    } else if (!isKey) {
      rejectedKeyStart = keyStart;
      continue;
    } else {
      const value = nextBackslash < lastSpace ? decodeExtensionText(text, valueStart, lastSpace) : text.slice(valueStart, lastSpace);
      setField(pairs, key, trimSpacesEnd(value));
    }
    key = text.slice(keyStart, index);
    valueStart = index + 1;
    lastSpace = -1;
  }

  if (key !== undefined) {
    nextBackslash = firstBackslashFrom(text, valueStart, nextBackslash);
    const value = nextBackslash < text.length ? decodeExtensionText(text, valueStart, text.length) : text.slice(valueStart);
    setField(pairs, key, trimSpacesEnd(value));
  } else if (decodeExtensionText(text, start, text.length).trim() !== "") {
    throw new CefSyntaxError("the extension has text but no key=value pair", start + 1, field);
  }
  return pairs;
}

/**
 * True when the text between `start` and `end` is an extension key: a letter, digit or `_`
 * followed by letters, digits, `_`, `.` or `-`. That covers the keys of the CEF dictionary and
 * vendor keys such as `cs1Label`, `ad.user_name` or `_cefVer`.
 */
function isExtensionKey(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let index = start; index < end; index += 1) {
    const code = text.charCodeAt(index);
    const isWordChar = (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
    if (isWordChar) continue;
    if (index === start || (code !== 0x2e && code !== 0x2d)) return false;
  }
  return true;
}

/**
 * Decodes the extension escapes `\=`, `\\`, `\|`, `\n` and `\r` between `start` and `end`. A
 * backslash before any other character stays as it is.
 */
function decodeExtensionText(text: string, start: number, end: number): string {
  let decoded = "";
  let copied = start;
  let index = text.indexOf("\\", start);
  while (index !== -1 && index < end - 1) {
    const escaped = EXTENSION_ESCAPES[text.charAt(index + 1)];
    if (escaped === undefined) {
      index = text.indexOf("\\", index + 1);
      continue;
    }
    decoded += text.slice(copied, index) + escaped;
    copied = index + 2;
    index = text.indexOf("\\", copied);
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
  setHeaderFields(record, event);
  return record;
}

function setHeaderFields(record: Record<string, unknown>, header: CefHeader): void {
  record.version = header.version;
  record.deviceVendor = header.deviceVendor;
  record.deviceProduct = header.deviceProduct;
  record.deviceVersion = header.deviceVersion;
  record.deviceEventClassId = header.signatureId;
  record.name = header.name;
  record.severity = header.severity;
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
const CUSTOM_LABEL_KEYS = CUSTOM_STRING_SLOTS.map((slot) => `${slot}Label`);

/**
 * Builds the `labels` string of a CEF record: each custom slot `cs1`..`cs6` and `cn1`..`cn3`
 * under its `…Label` name (or the slot name when unlabelled), plus `act` and `signature_id`.
 * Returns undefined when there is nothing to list.
 */
export function cefLabels(record: Readonly<Record<string, unknown>>): string | undefined {
  const labels = new LabelList();
  for (let index = 0; index < CUSTOM_STRING_SLOTS.length; index++) {
    const slot = CUSTOM_STRING_SLOTS[index] as string;
    const value = scalarText(record[slot]);
    if (value === undefined) continue;
    labels.set(scalarText(record[CUSTOM_LABEL_KEYS[index] as string]) ?? slot, value);
  }
  const action = scalarText(record.act);
  if (action !== undefined) labels.set("act", action);
  const signatureId = scalarText(record.deviceEventClassId);
  if (signatureId !== undefined) labels.set("signature_id", signatureId);
  return labels.format();
}

/**
 * A few labels, formatted as `formatLabels` formats an object of them. A record has only a
 * handful, so two arrays cost less than an object with keys that vary from record to record.
 */
class LabelList {
  readonly #keys: string[] = [];
  readonly #values: string[] = [];

  /** Sets a label. A key that is set again keeps its place and takes the new value. */
  set(key: string, value: string): void {
    const index = this.#keys.indexOf(key);
    if (index === -1) {
      this.#keys.push(key);
      this.#values.push(value);
    } else {
      this.#values[index] = value;
    }
  }

  /**
   * Sorts the labels by key (UTF-16 code unit order) and returns them as `key=value` pairs
   * joined by ",", or undefined when there are none.
   */
  format(): string | undefined {
    const keys = this.#keys;
    const values = this.#values;
    if (keys.length === 0) return undefined;
    // An insertion sort of the few pairs, which costs less than sort() with a comparator.
    for (let index = 1; index < keys.length; index++) {
      const key = keys[index] as string;
      const value = values[index] as string;
      let position = index;
      for (; position > 0 && (keys[position - 1] as string) > key; position--) {
        keys[position] = keys[position - 1] as string;
        values[position] = values[position - 1] as string;
      }
      keys[position] = key;
      values[position] = value;
    }
    let text = `${keys[0]}=${values[0]}`;
    for (let index = 1; index < keys.length; index++) text += `,${keys[index]}=${values[index]}`;
    return text;
  }
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
