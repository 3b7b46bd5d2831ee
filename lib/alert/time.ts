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
  return new Date(Math.trunc(milliseconds)).toISOString();
}

function fromIsoParts(match: RegExpExecArray, original: string, options: TimeOptions): string | undefined {
  const [, year, month, day, hour, minute, second, fraction = "", zone = "Z"] = match;
  if (year === "0001" && month === "01" && day === "01") return undefined;

  const milliseconds = fraction.padEnd(3, "0").slice(0, 3);
  const offset = zone.toUpperCase() === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${milliseconds}${offset}`);
  if (Number.isNaN(date.getTime())) throw invalidTime(original, options);
  return date.toISOString();
}

function invalidTime(value: unknown, options: TimeOptions): InvalidInputError {
  const where = options.field === undefined ? "" : ` at ${options.field}`;
  return new InvalidInputError("BRIDGE.TIME_INVALID", `invalid timestamp${where}: ${JSON.stringify(value)?.slice(0, 64)}`, {
    field: options.field,
    fix: "send RFC 3339 with a zone (2024-05-14T08:02:11Z) or epoch seconds or milliseconds",
  });
}
