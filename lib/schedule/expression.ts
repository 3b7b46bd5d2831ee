/**
 * Schedule expressions in the syntax of EventBridge rules, evaluated in UTC as EventBridge does:
 *
 * - `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`: the unit is singular for 1, plural otherwise.
 * - `cron(Minutes Hours Day-of-month Month Day-of-week Year)`: each field takes `*`, numbers,
 *   lists (`1,15`), ranges (`1-5`) and steps (`0/15`, `*\/10`, `8-18/2`); months take `JAN`–`DEC`,
 *   days of the week `SUN`–`SAT` or 1–7 with 1 = Sunday; one of the two day fields must be `?`.
 *
 * NOTE: the `L`, `W` and `#` forms that EventBridge also accepts are rejected here, so that every
 * expression the bridge accepts is evaluated the same way locally and in AWS.
 */
export type ScheduleExpression =
  | { kind: "rate"; text: string; periodMs: number }
  | { kind: "cron"; text: string; fields: CronFields };

interface CronFields {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  /** Undefined when the field is `?`. */
  daysOfMonth: ReadonlySet<number> | undefined;
  months: ReadonlySet<number>;
  /** 1 = Sunday … 7 = Saturday; undefined when the field is `?`. */
  daysOfWeek: ReadonlySet<number> | undefined;
  years: ReadonlySet<number>;
}

const MINUTE_MS = 60_000;
const RATE_UNITS: Record<string, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: 24 * 60 * MINUTE_MS };
const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MAX_YEAR = 2199;

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  allowQuestionMark?: boolean;
}

const FIELD_SPECS: readonly FieldSpec[] = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31, allowQuestionMark: true },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { name: "day-of-week", min: 1, max: 7, names: DAY_NAMES, allowQuestionMark: true },
  { name: "year", min: 1970, max: MAX_YEAR },
];

/** An expression that cannot be parsed; the message names the invalid part and the reason. */
export class ScheduleExpressionError extends Error {
  override name = "ScheduleExpressionError";
}

/**
 * Parses a `rate(...)` or `cron(...)` expression.
 *
 * @throws ScheduleExpressionError naming the part that is invalid.
 */
export function parseScheduleExpression(text: string): ScheduleExpression {
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(text);
  if (rate !== null) return parseRate(text, Number(rate[1]), rate[2]!);
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron !== null) return { kind: "cron", text, fields: parseCronFields(cron[1]!) };
  throw new ScheduleExpressionError("must be rate(VALUE UNIT) or cron(MINUTES HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)");
}

function parseRate(text: string, value: number, unit: string): ScheduleExpression {
  const singular = unit.endsWith("s") ? unit.slice(0, -1) : unit;
  const unitMs = RATE_UNITS[singular];
  if (unitMs === undefined) throw new ScheduleExpressionError(`rate unit ${unit} is not minute(s), hour(s) or day(s)`);
  if (!Number.isSafeInteger(value) || value < 1) throw new ScheduleExpressionError("rate value must be a whole number of at least 1");
  if ((value === 1) !== (unit === singular)) {
    throw new ScheduleExpressionError(`write rate(${value} ${value === 1 ? singular : `${singular}s`}): the unit is singular for 1 and plural otherwise`);
  }
  return { kind: "rate", text, periodMs: value * unitMs };
}

function parseCronFields(body: string): CronFields {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(`cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek, years] = parts.map((part, index) => parseField(part, FIELD_SPECS[index]!));
  if ((daysOfMonth === undefined) === (daysOfWeek === undefined)) {
    throw new ScheduleExpressionError("cron needs ? in exactly one of day-of-month and day-of-week");
  }
  return { minutes: minutes!, hours: hours!, daysOfMonth, months: months!, daysOfWeek, years: years! };
}

function parseField(text: string, spec: FieldSpec): ReadonlySet<number> | undefined {
  if (text === "?") {
    if (spec.allowQuestionMark === true) return undefined;
    throw new ScheduleExpressionError(`cron ${spec.name} cannot be ?`);
  }
  if (/[LW#]/.test(text.replace(/[A-Z]{3}/g, (name) => (spec.names?.includes(name) ? "" : name)))) {
    throw new ScheduleExpressionError(`cron ${spec.name} ${text}: the L, W and # forms are not supported`);
  }
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const [range = "", stepText] = item.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!/^\d+$/.test(stepText ?? "1") || step < 1) throw new ScheduleExpressionError(`cron ${spec.name} ${text}: the step must be a whole number of at least 1`);
    let start: number;
    let end: number;
    if (range === "*") {
      start = spec.min;
      end = spec.max;
    } else {
      const [first, last] = range.split("-");
      start = fieldValue(first ?? "", spec, text);
      // A single value with a step (`5/15`) runs to the end of the field; without one it is itself.
      if (last !== undefined) end = fieldValue(last, spec, text);
      else end = stepText === undefined ? start : spec.max;
      if (end < start) throw new ScheduleExpressionError(`cron ${spec.name} ${text}: the range ends before it starts`);
    }
    for (let value = start; value <= end; value += step) values.add(value);
  }
  return values;
}

function fieldValue(text: string, spec: FieldSpec, whole: string): number {
  const named = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  const value = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= spec.min && value <= spec.max)) {
    const range = spec.names === undefined ? `${spec.min}-${spec.max}` : `${spec.min}-${spec.max} or ${spec.names[0]}-${spec.names.at(-1)}`;
    throw new ScheduleExpressionError(`cron ${spec.name} ${whole}: ${JSON.stringify(text)} is not in ${range}`);
  }
  return value;
}

/**
 * Returns the first scheduled time strictly after `after`, or undefined when there is none
 * (a cron whose years have passed).
 *
 * A rate has no fixed start in EventBridge: a rule first fires one period after it is created.
 * Here a rate fires at whole multiples of its period since 1970-01-01T00:00:00Z, which is what
 * the local runner uses.
 */
export function nextScheduledTime(expression: ScheduleExpression, after: Date): Date | undefined {
  if (expression.kind === "rate") {
    const { periodMs } = expression;
    return new Date(Math.floor(after.getTime() / periodMs) * periodMs + periodMs);
  }
  return nextCronTime(expression.fields, after);
}

/** Tells whether `time` is one of the expression's scheduled times. */
export function isScheduledTime(expression: ScheduleExpression, time: Date): boolean {
  return nextScheduledTime(expression, new Date(time.getTime() - 1))?.getTime() === time.getTime();
}

function nextCronTime(fields: CronFields, after: Date): Date | undefined {
  // Start at the next whole minute; each step below moves to the start of the next unit that can match.
  const candidate = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  for (let guard = 0; guard < 200_000; guard++) {
    const year = candidate.getUTCFullYear();
    if (year > MAX_YEAR) return undefined;
    if (!fields.years.has(year)) {
      candidate.setTime(Date.UTC(year + 1, 0, 1));
      continue;
    }
    if (!fields.months.has(candidate.getUTCMonth() + 1)) {
      candidate.setTime(Date.UTC(year, candidate.getUTCMonth() + 1, 1));
      continue;
    }
    if (!dayMatches(fields, candidate)) {
      candidate.setTime(Date.UTC(year, candidate.getUTCMonth(), candidate.getUTCDate() + 1));
      continue;
    }
    if (!fields.hours.has(candidate.getUTCHours())) {
      candidate.setTime(Date.UTC(year, candidate.getUTCMonth(), candidate.getUTCDate(), candidate.getUTCHours() + 1));
      continue;
    }
    if (!fields.minutes.has(candidate.getUTCMinutes())) {
      candidate.setTime(candidate.getTime() + MINUTE_MS);
      continue;
    }
    return candidate;
  }
  return undefined;
}

function dayMatches(fields: CronFields, time: Date): boolean {
  if (fields.daysOfMonth !== undefined) return fields.daysOfMonth.has(time.getUTCDate());
  return fields.daysOfWeek?.has(time.getUTCDay() + 1) ?? true;
}
