import { InvalidInputError } from "../errors";

/** Options for {@link normalizeTime}. */
export interface TimeOptions {
  /**
   * How to read a bare number or numeric string. `auto` treats values at or above 1e12 as
   * epoch milliseconds and smaller ones as epoch seconds.
   * @default "auto"
   */
  epoch?: "auto" | "seconds" | "milliseconds";
  /** JSON path of the value, used in the error message. */
  field?: string;
}

// RFC 3339 and the variants senders emit: any number of fraction digits, Z, +hh:mm or +hhmm.
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|z|[+-]\d{2}:?\d{2})$/;
const NUMERIC_PATTERN = /^\d+(?:\.\d+)?$/;
/** 10000-01-01T00:00:00Z in epoch milliseconds. */
const MAX_EPOCH_MS = 253_402_300_800_000;

/**
 * Normalizes a sender's timestamp to RFC 3339 UTC with milliseconds (`2024-05-14T08:02:11.482Z`).
 *
 * Accepts RFC 3339 with up to nanosecond fractions (truncated to ms), `+0000` offsets without a
 * colon, and epoch seconds or milliseconds as numbers or strings. The Go zero time
 * (`0001-01-01T00:00:00Z`), empty strings, null and undefined mean "unset" and return undefined.
 *
 * @throws InvalidInputError with code `BRIDGE.TIME_INVALID` for anything else, including times
 *   without a zone, because guessing the sender's zone would shift the alert silently.
 */
export function normalizeTime(value: unknown, options: TimeOptions = {}): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;

  if (typeof value === "number" || (typeof value === "string" && NUMERIC_PATTERN.test(value))) {
    return fromEpoch(Number(value), options);
  }

  if (typeof value === "string") {
    const match = ISO_PATTERN.exec(value.trim());
    if (match !== null) return fromIsoParts(match, value, options);
  }

  throw invalidTime(value, options);
}

function fromEpoch(epoch: number, options: TimeOptions): string | undefined {
  if (!Number.isFinite(epoch) || epoch < 0) throw invalidTime(epoch, options);
  if (epoch === 0) return undefined;
  const unit = options.epoch ?? "auto";
  const milliseconds = unit === "milliseconds" || (unit === "auto" && epoch >= 1e12) ? epoch : epoch * 1000;
  // Beyond year 9999 RFC 3339 has no four-digit year, so such values cannot be sent on.
  if (milliseconds >= MAX_EPOCH_MS) throw invalidTime(epoch, options);
  return formatTime(Math.trunc(milliseconds));
}

function fromIsoParts(match: RegExpExecArray, original: string, options: TimeOptions): string | undefined {
  const [, year, month, day, hour, minute, second, fraction = "", zone = "Z"] = match;
  if (year === "0001" && month === "01" && day === "01") return undefined;

  const milliseconds = fraction.padEnd(3, "0").slice(0, 3);
  const offset = zone.toUpperCase() === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const wallClock: WallClock = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
    millisecond: Number(milliseconds),
  };
  const offsetMinutes = offset === "Z" ? 0 : offsetMinutesOf(offset);
  const epochMs =
    (offsetMinutes === undefined ? undefined : epochOfWallClock(wallClock, offsetMinutes)) ??
    new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${milliseconds}${offset}`).getTime();
  if (Number.isNaN(epochMs)) throw invalidTime(original, options);
  return formatTime(epochMs);
}

// Reads "+hh:mm" as minutes east of UTC, or undefined when hh is over 23 or mm over 59.
function offsetMinutesOf(offset: string): number | undefined {
  const hours = Number(offset.slice(1, 3));
  const minutes = Number(offset.slice(4, 6));
  if (hours > 23 || minutes > 59) return undefined;
  return (offset.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
}

/** The date and time fields of a wall clock, `month` from 1 to 12. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/**
 * Computes the instant of a wall clock at an offset of `offsetMinutes` east of UTC with
 * `Date.UTC`, several times faster than formatting the fields as RFC 3339 text and parsing that
 * with `Date`. Returns undefined where `Date.UTC` could give a different instant than `Date`'s
 * ISO parser, and the caller then parses the text. These are years below 100 (`Date.UTC` adds
 * 1900) or above 9999, hour 24, any field out of its range, and offsets that are not whole
 * minutes within ±23:59.
 * Within the ranges both roll a day past the end of the month over in the same way (February 30
 * is March 1).
 */
export function epochOfWallClock(wallClock: WallClock, offsetMinutes: number): number | undefined {
  const { year, month, day, hour, minute, second, millisecond } = wallClock;
  const plain =
    year >= 100 &&
    year <= 9999 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= 31 &&
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59 &&
    Number.isInteger(millisecond) &&
    millisecond >= 0 &&
    millisecond <= 999 &&
    Number.isInteger(offsetMinutes) &&
    Math.abs(offsetMinutes) <= MAX_OFFSET_MINUTES;
  if (!plain) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - offsetMinutes * 60_000;
}

/** 23:59, the largest offset that RFC 3339 text with two-digit hours can carry. */
const MAX_OFFSET_MINUTES = 23 * 60 + 59;

const TWO_DIGITS = Array.from({ length: 100 }, (_, value) => String(value).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, "0"));
const DAY_MS = 86_400_000;

/**
 * Formats an instant in epoch milliseconds as RFC 3339 UTC with milliseconds, the form
 * {@link normalizeTime} returns, exactly as `Date.prototype.toISOString` does.
 *
 * Whole milliseconds from 1970 up to the end of year 9999 are formatted with arithmetic, about
 * three times faster than `toISOString` (measured on Node.js 20.20). Other values go to
 * `toISOString`, which also throws its `RangeError` for a value that is not a time.
 */
export function formatTime(epochMs: number): string {
  if (!Number.isInteger(epochMs) || epochMs < 0 || epochMs >= MAX_EPOCH_MS) return new Date(epochMs).toISOString();

  const days = Math.floor(epochMs / DAY_MS);
  let rest = epochMs - days * DAY_MS;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const millisecond = rest - second * 1000;

  const { year, month, day } = civilDate(days);
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[second]}.${THREE_DIGITS[millisecond]}Z`;
}

/**
 * Converts days since 1970-01-01 to a proleptic Gregorian date. The count is shifted to start on
 * 0000-03-01 and cut into eras of 400 years (146,097 days), so that February and its leap day end
 * each year and every era has the same calendar.
 */
function civilDate(days: number): { year: number; month: number; day: number } {
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function invalidTime(value: unknown, options: TimeOptions): InvalidInputError {
  const where = options.field === undefined ? "" : ` at ${options.field}`;
  return new InvalidInputError("BRIDGE.TIME_INVALID", `invalid timestamp${where}: ${JSON.stringify(value)?.slice(0, 64)}`, {
    field: options.field,
    fix: "send RFC 3339 with a zone (2024-05-14T08:02:11Z) or epoch seconds or milliseconds",
  });
}
