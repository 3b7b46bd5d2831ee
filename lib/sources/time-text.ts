import { InvalidInputError } from "../errors";
import { epochOfWallClock, formatTime, normalizeTime, type WallClock } from "../alert/time";
import type { PathLocator, SourcePath } from "./mapping";

/**
 * Format of a mapped time value: epoch milliseconds, epoch seconds, RFC 3339, or `auto`
 * (numbers by magnitude, RFC 3339, CEF dates such as `May 14 2024 11:07:11 UTC`).
 */
export type TimeType = "epoch_ms" | "epoch_s" | "rfc3339" | "auto";

/** Options for {@link convertTime}. */
export interface ConvertTimeOptions {
  /** Location of the value in the payload, used in error messages. */
  field?: string;
  /**
   * Zone for times written without one: `UTC`, a fixed offset (`+08:00`, `UTC+0800`) or an IANA
   * name (`Asia/Shanghai`). Without it a zone-less time is rejected, because the zone of the
   * machine that runs the bridge is unrelated to the sender's.
   */
  timeZone?: string;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

// ArcSight's textual date: "MMM dd yyyy HH:mm:ss[.SSS][ zone]".
const CEF_DATE = /^([A-Za-z]{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: (\S+))?$/;
// RFC 3339 without a zone, which only a configured zone can place on the time line.
const ZONELESS_ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const FIXED_OFFSET = /^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$/i;

/** A wall-clock time without a zone. */
type LocalTime = WallClock;

/**
 * Converts a sender's time to RFC 3339 UTC with milliseconds, or undefined for "unset" values
 * (empty, null, zero, the Go zero time). All results pass through `normalizeTime`.
 *
 * @throws InvalidInputError `BRIDGE.TIME_INVALID` when the value is not a time of that type or
 *   has no zone and no `timeZone` is configured.
 */
export function convertTime(value: unknown, type: TimeType, options: ConvertTimeOptions = {}): string | undefined {
  const { field } = options;
  // NOTE: for the epoch types normalizeTime also reads RFC 3339 text that has a zone, so those
  // types do not reject it. Zone-less text fails there because time_zone is not applied.
  if (type === "epoch_ms") return normalizeTime(value, { epoch: "milliseconds", field });
  if (type === "epoch_s") return normalizeTime(value, { epoch: "seconds", field });
  if (type === "rfc3339" && typeof value !== "string") throw invalidTime(value, field, "expected an RFC 3339 string");

  if (typeof value === "string") {
    const local = readCefDate(value) ?? readZonelessIso(value);
    if (local !== undefined) return placeInZone(local.time, local.zone ?? options.timeZone, value, field);
  }
  return normalizeTime(value, { field });
}

/**
 * Converts the times of one alert with {@link convertTime} and keeps each result, because a
 * mapping often reads one value for several targets: a CEF event without `start` and `end`
 * reads `rt` for the first and last observed times and for the episode. A failed conversion
 * throws and is not kept.
 */
export class TimeConverter {
  readonly #timeZone: string | undefined;
  // An item converts a handful of values, so a scan of this list costs less than building a
  // string key for a Map on every call.
  readonly #converted: { value: string | number; type: TimeType; result: string | undefined }[] = [];

  /** @param timeZone Zone for zone-less times; see {@link ConvertTimeOptions.timeZone}. */
  constructor(timeZone: string | undefined) {
    this.#timeZone = timeZone;
  }

  /** Returns `convertTime(value, type, { field, timeZone })`, converting each value and type once. */
  convert(value: unknown, type: TimeType, field: string | undefined): string | undefined {
    return this.#convert(value, type, field, undefined);
  }

  /**
   * Returns the same as {@link convert}, but formats the location of the value with
   * `locator.locate(path)` only when the value was not converted before, because a location
   * that no error names need not be formatted.
   */
  convertAt(value: unknown, type: TimeType, locator: PathLocator, path: SourcePath): string | undefined {
    return this.#convert(value, type, undefined, { locator, path });
  }

  #convert(
    value: unknown,
    type: TimeType,
    field: string | undefined,
    location: { locator: PathLocator; path: SourcePath } | undefined,
  ): string | undefined {
    const isKept = typeof value === "string" || typeof value === "number";
    if (isKept) {
      // Strict equality distinguishes the string "5" from the number 5.
      for (const converted of this.#converted) {
        if (converted.value === value && converted.type === type) return converted.result;
      }
    }
    const options = { field: location === undefined ? field : location.locator.locate(location.path), timeZone: this.#timeZone };
    const result = convertTime(value, type, options);
    if (isKept) this.#converted.push({ value, type, result });
    return result;
  }
}

/** A mapping setting that declares a time `type`, named in errors by {@link explainTimeType}. */
export interface DeclaredTimeType {
  /** Mapping key that declares the type, such as `fields["first_observed_time"]` or `identity.episode`. */
  setting: string;
  /** Source path the setting reads. */
  path: SourcePath;
  /** Id of the source whose mapping contains the setting. */
  sourceId: string;
}

// Values a declared time type reads, and the types to suggest for a value of the other form.
const DECLARED_TIME_TYPES = {
  epoch_ms: { reads: "epoch milliseconds", otherTypes: '"rfc3339"' },
  epoch_s: { reads: "epoch seconds", otherTypes: '"rfc3339"' },
  rfc3339: { reads: "RFC 3339 text", otherTypes: '"epoch_ms" or "epoch_s"' },
} as const;

// Text that `normalizeTime` reads as an epoch number.
const EPOCH_TEXT = /^\d+(?:\.\d+)?$/;

/**
 * Runs `convert` and rewrites its `BRIDGE.TIME_INVALID` error when the value has the wrong form
 * for the declared `type`: text that is not a number for `epoch_ms` or `epoch_s`, or a number for
 * `rfc3339`. The new error names the mapping setting, its path and its type, because the value
 * may be a valid time and the `type` the mistake. Other errors are thrown unchanged.
 */
export function explainTimeType<T>(value: unknown, type: TimeType, declared: DeclaredTimeType, convert: () => T): T {
  try {
    return convert();
  } catch (error) {
    if (type === "auto" || !(error instanceof InvalidInputError) || error.code !== "BRIDGE.TIME_INVALID") throw error;
    if (fitsTimeType(value, type)) throw error;
    throw timeTypeError(value, type, declared, error);
  }
}

function fitsTimeType(value: unknown, type: Exclude<TimeType, "auto">): boolean {
  if (type === "rfc3339") return typeof value === "string" && !EPOCH_TEXT.test(value);
  return typeof value === "number" || (typeof value === "string" && EPOCH_TEXT.test(value));
}

function timeTypeError(value: unknown, type: Exclude<TimeType, "auto">, declared: DeclaredTimeType, cause: InvalidInputError): InvalidInputError {
  const { reads, otherTypes } = DECLARED_TIME_TYPES[type];
  const field = cause.field;
  const where = field === undefined ? "" : ` at ${field}`;
  const quotedValue = JSON.stringify(value)?.slice(0, 64);
  const message = `invalid timestamp${where}: ${declared.setting} reads ${declared.path.text} with "type": "${type}", but the value is not ${reads}: ${quotedValue}`;
  const fix =
    `change "type" of ${declared.setting} in the ${declared.sourceId} mapping to ${otherTypes} ` +
    `(or remove "type" to read any supported time format), or make the sender send ${reads}${where}`;
  return new InvalidInputError("BRIDGE.TIME_INVALID", message, { field, fix, cause });
}

function readCefDate(value: string): { time: LocalTime; zone: string | undefined } | undefined {
  const text = value.trim();
  const scanned = scanCefDate(text);
  return scanned === NOT_SCANNED ? matchCefDate(text) : scanned;
}

const NOT_SCANNED = Symbol("not scanned");

/**
 * Reads a CEF date as {@link matchCefDate} does, without building the strings of the regular
 * expression's groups and converting them to numbers. Returns `NOT_SCANNED` for a zone that
 * contains a character beyond ASCII, which is left to the expression because its `\S` decides
 * which of those characters are white space.
 */
function scanCefDate(text: string): { time: LocalTime; zone: string | undefined } | undefined | typeof NOT_SCANNED {
  // The lower case of three characters is a month name only for the three ASCII letters of one.
  if (text.charCodeAt(3) !== SPACE_CODE) return undefined;
  const month = MONTH_NUMBERS.get(text.slice(0, 3).toLowerCase());
  if (month === undefined) return undefined;

  let position = 4;
  const dayDigits = isDigitAt(text, position + 1) ? 2 : 1;
  if (!isDigitAt(text, position)) return undefined;
  const day = digitsAt(text, position, dayDigits);
  position += dayDigits;

  // " yyyy HH:mm:ss" with fixed widths.
  if (
    text.charCodeAt(position) !== SPACE_CODE ||
    !areDigitsAt(text, position + 1, 4) ||
    text.charCodeAt(position + 5) !== SPACE_CODE ||
    !areDigitsAt(text, position + 6, 2) ||
    text.charCodeAt(position + 8) !== COLON_CODE ||
    !areDigitsAt(text, position + 9, 2) ||
    text.charCodeAt(position + 11) !== COLON_CODE ||
    !areDigitsAt(text, position + 12, 2)
  ) {
    return undefined;
  }
  const time: LocalTime = {
    year: digitsAt(text, position + 1, 4),
    month,
    day,
    hour: digitsAt(text, position + 6, 2),
    minute: digitsAt(text, position + 9, 2),
    second: digitsAt(text, position + 12, 2),
    millisecond: 0,
  };
  position += 14;

  if (text.charCodeAt(position) === DOT_CODE) {
    let digits = 0;
    while (digits < 3 && isDigitAt(text, position + 1 + digits)) digits += 1;
    if (digits === 0) return undefined;
    // ".5" is 500 ms and ".05" is 50 ms, as when the fraction is padded to three digits.
    time.millisecond = digitsAt(text, position + 1, digits) * 10 ** (3 - digits);
    position += 1 + digits;
  }
  if (position === text.length) return { time, zone: undefined };

  if (text.charCodeAt(position) !== SPACE_CODE || position + 1 === text.length) return undefined;
  for (let index = position + 1; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x80) return NOT_SCANNED;
    if (code === SPACE_CODE || (code >= 0x09 && code <= 0x0d)) return undefined;
  }
  return { time, zone: text.slice(position + 1) };
}

const SPACE_CODE = 0x20;
const COLON_CODE = 0x3a;
const DOT_CODE = 0x2e;
const MONTH_NUMBERS = new Map(MONTHS.map((name, index) => [name, index + 1]));

function isDigitAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0x30 && code <= 0x39;
}

function areDigitsAt(text: string, start: number, count: number): boolean {
  for (let index = start; index < start + count; index++) if (!isDigitAt(text, index)) return false;
  return true;
}

/** Reads `count` decimal digits at `start`, which the caller has checked. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let index = start; index < start + count; index++) value = value * 10 + text.charCodeAt(index) - 0x30;
  return value;
}

function matchCefDate(text: string): { time: LocalTime; zone: string | undefined } | undefined {
  const match = CEF_DATE.exec(text);
  if (match === null) return undefined;
  const [, monthName = "", day, year, hour, minute, second, fraction = "0", zone] = match;
  const month = MONTHS.indexOf(monthName.toLowerCase()) + 1;
  if (month === 0) return undefined;
  const millisecond = Number(fraction.padEnd(3, "0"));
  return { time: toLocalTime([year, month, day, hour, minute, second], millisecond), zone };
}

function readZonelessIso(text: string): { time: LocalTime; zone: undefined } | undefined {
  const match = ZONELESS_ISO.exec(text.trim());
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = "0"] = match;
  const millisecond = Number(fraction.padEnd(3, "0").slice(0, 3));
  return { time: toLocalTime([year, month, day, hour, minute, second], millisecond), zone: undefined };
}

function toLocalTime(parts: readonly (string | number | undefined)[], millisecond: number): LocalTime {
  return {
    year: Number(parts[0]),
    month: Number(parts[1]),
    day: Number(parts[2]),
    hour: Number(parts[3]),
    minute: Number(parts[4]),
    second: Number(parts[5]),
    millisecond,
  };
}

/** True when `zone` is `UTC`, `GMT`, `Z`, a fixed offset, or an IANA zone name in this runtime's ICU data. */
export function isSupportedTimeZone(zone: string): boolean {
  if (isUtcName(zone) || FIXED_OFFSET.test(zone)) return true;
  try {
    zoneFormat(zone);
    return true;
  } catch {
    return false;
  }
}

// Building an Intl.DateTimeFormat takes tens of microseconds, so each zone's is built once. Zone
// names can come from payloads (the zone of a CEF date), so the cache is emptied when it is full.
const MAX_CACHED_ZONES = 64;
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * Returns the formatter that reads wall-clock fields in `zone`.
 *
 * @throws RangeError when the runtime's ICU data has no such zone.
 */
function zoneFormat(zone: string): Intl.DateTimeFormat {
  const cached = zoneFormats.get(zone);
  if (cached !== undefined) return cached;

  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  if (zoneFormats.size >= MAX_CACHED_ZONES) zoneFormats.clear();
  zoneFormats.set(zone, format);
  return format;
}

function isUtcName(zone: string): boolean {
  // The usual spellings are compared first, which costs less than the regular expression.
  return zone === "UTC" || zone === "Z" || zone === "GMT" || UTC_NAME.test(zone);
}

const UTC_NAME = /^(?:UTC|GMT|Z)$/i;

function placeInZone(local: LocalTime, zone: string | undefined, original: string, field: string | undefined): string | undefined {
  if (zone === undefined) {
    throw invalidTime(original, field, "the time has no zone; set time_zone in the source mapping");
  }
  if (!isSupportedTimeZone(zone)) throw invalidTime(original, field, `unknown time zone ${JSON.stringify(zone)}`);

  const wallClockMs = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, local.millisecond);
  const offsetMinutes = offsetOf(zone, wallClockMs);
  // Fields that RFC 3339 text carries without surprises skip formatting and parsing that text.
  const epochMs = epochOfWallClock(local, offsetMinutes);
  if (epochMs !== undefined) return formatTime(epochMs);
  return normalizeTime(`${isoWallClock(local)}${formatOffset(offsetMinutes)}`, { field });
}

/** Offset of `zone` from UTC in minutes at the instant whose wall clock in that zone is `wallClockMs`. */
function offsetOf(zone: string, wallClockMs: number): number {
  if (isUtcName(zone)) return 0;
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed !== null) {
    const [, sign, hours, minutes] = fixed;
    return (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
  }

  // An IANA zone's offset depends on the instant, which depends on the offset. Guess the instant
  // with the offset at the wall-clock value read as UTC, then take the offset at that guess.
  // NOTE: inside a daylight-saving gap or overlap this picks one of the possible instants.
  const firstGuess = zoneOffsetAt(zone, wallClockMs);
  return zoneOffsetAt(zone, wallClockMs - firstGuess * 60_000);
}

function zoneOffsetAt(zone: string, instantMs: number): number {
  const parts = Object.fromEntries(zoneFormat(zone).formatToParts(new Date(instantMs)).map((part) => [part.type, part.value]));
  const zoneWallClockMs = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const wholeSecondMs = Math.floor(instantMs / 1000) * 1000;
  return Math.round((zoneWallClockMs - wholeSecondMs) / 60_000);
}

function isoWallClock(local: LocalTime): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  const date = `${pad(local.year, 4)}-${pad(local.month)}-${pad(local.day)}`;
  return `${date}T${pad(local.hour)}:${pad(local.minute)}:${pad(local.second)}.${pad(local.millisecond, 3)}`;
}

function formatOffset(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? "-" : "+";
  const absolute = Math.abs(offsetMinutes);
  return `${sign}${String(Math.trunc(absolute / 60)).padStart(2, "0")}:${String(absolute % 60).padStart(2, "0")}`;
}

function invalidTime(value: unknown, field: string | undefined, reason: string): InvalidInputError {
  const where = field === undefined ? "" : ` at ${field}`;
  return new InvalidInputError("BRIDGE.TIME_INVALID", `invalid timestamp${where}: ${reason}: ${JSON.stringify(value)?.slice(0, 64)}`, {
    field,
    fix: "send RFC 3339 with a zone, epoch seconds or milliseconds, or set time_zone in the source mapping",
  });
}
