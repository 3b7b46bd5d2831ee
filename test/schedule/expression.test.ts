import { describe, expect, it } from "vitest";
import { isScheduledTime, nextScheduledTime, parseScheduleExpression, ScheduleExpressionError } from "../../lib/schedule/expression";

function next(expression: string, after: string): string | undefined {
  return nextScheduledTime(parseScheduleExpression(expression), new Date(after))?.toISOString();
}

function series(expression: string, after: string, count: number): string[] {
  const parsed = parseScheduleExpression(expression);
  const times: string[] = [];
  let at = new Date(after);
  for (let index = 0; index < count; index++) {
    at = nextScheduledTime(parsed, at)!;
    times.push(at.toISOString());
  }
  return times;
}

function errorOf(expression: string): string {
  try {
    parseScheduleExpression(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(ScheduleExpressionError);
    return (error as Error).message;
  }
  throw new Error(`expected ${expression} to be rejected`);
}

describe("rate expressions", () => {
  it("fire at multiples of the period since the epoch", () => {
    expect(series("rate(5 minutes)", "2026-01-15T08:31:10.000Z", 3)).toEqual([
      "2026-01-15T08:35:00.000Z",
      "2026-01-15T08:40:00.000Z",
      "2026-01-15T08:45:00.000Z",
    ]);
    expect(next("rate(1 hour)", "2026-01-15T08:00:00.000Z")).toBe("2026-01-15T09:00:00.000Z");
    // Day 20470 since the epoch is 2026-01-17, the first even day after the 15th.
    expect(next("rate(2 days)", "2026-01-15T08:00:00.000Z")).toBe("2026-01-17T00:00:00.000Z");
  });

  it("rejects wrong units and values", () => {
    expect(errorOf("rate(1 minutes)")).toBe("write rate(1 minute): the unit is singular for 1 and plural otherwise");
    expect(errorOf("rate(5 minute)")).toBe("write rate(5 minutes): the unit is singular for 1 and plural otherwise");
    expect(errorOf("rate(0 minutes)")).toBe("rate value must be a whole number of at least 1");
    expect(errorOf("rate(3 weeks)")).toBe("rate unit weeks is not minute(s), hour(s) or day(s)");
    expect(errorOf("every 5 minutes")).toMatch(/^must be rate\(VALUE UNIT\) or cron\(/);
  });
});

describe("cron expressions", () => {
  it("daily at a fixed time", () => {
    expect(series("cron(0 18 * * ? *)", "2026-01-15T18:00:00.000Z", 2)).toEqual(["2026-01-16T18:00:00.000Z", "2026-01-17T18:00:00.000Z"]);
    expect(next("cron(0 18 * * ? *)", "2026-01-15T17:59:59.999Z")).toBe("2026-01-15T18:00:00.000Z");
  });

  it("minute steps and hour ranges", () => {
    expect(series("cron(0/15 8-9 * * ? *)", "2026-01-15T09:40:00.000Z", 3)).toEqual([
      "2026-01-15T09:45:00.000Z",
      "2026-01-16T08:00:00.000Z",
      "2026-01-16T08:15:00.000Z",
    ]);
    expect(series("cron(*/20 * * * ? *)", "2026-01-15T09:41:00.000Z", 2)).toEqual(["2026-01-15T10:00:00.000Z", "2026-01-15T10:20:00.000Z"]);
  });

  it("days of the week count from Sunday as 1", () => {
    // 2026-01-15 is a Thursday.
    expect(next("cron(0 9 ? * MON-FRI *)", "2026-01-16T10:00:00.000Z")).toBe("2026-01-19T09:00:00.000Z");
    expect(next("cron(0 9 ? * 1 *)", "2026-01-15T00:00:00.000Z")).toBe("2026-01-18T09:00:00.000Z");
    expect(next("cron(0 9 ? * 7 *)", "2026-01-15T00:00:00.000Z")).toBe("2026-01-17T09:00:00.000Z");
    expect(next("cron(0 9 ? * sun *)", "2026-01-15T00:00:00.000Z")).toBe("2026-01-18T09:00:00.000Z");
  });

  it("days of the month, months and years", () => {
    expect(next("cron(30 2 1,15 * ? *)", "2026-01-15T03:00:00.000Z")).toBe("2026-02-01T02:30:00.000Z");
    expect(next("cron(0 0 31 * ? *)", "2026-01-31T00:00:00.000Z")).toBe("2026-03-31T00:00:00.000Z");
    expect(next("cron(0 0 29 FEB ? *)", "2026-01-01T00:00:00.000Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("cron(0 12 1 JAN,JUL ? 2027-2028)", "2026-06-01T00:00:00.000Z")).toBe("2027-01-01T12:00:00.000Z");
    expect(next("cron(0 12 1 1 ? 2025)", "2026-01-01T00:00:00.000Z")).toBeUndefined();
  });

  it("never-matching date ends the search", () => {
    expect(next("cron(0 0 30 FEB ? *)", "2026-01-01T00:00:00.000Z")).toBeUndefined();
  });

  it("scheduled time check", () => {
    const expression = parseScheduleExpression("cron(0 18 * * ? *)");

    expect(isScheduledTime(expression, new Date("2026-01-15T18:00:00.000Z"))).toBe(true);
    expect(isScheduledTime(expression, new Date("2026-01-15T18:00:01.000Z"))).toBe(false);
    expect(isScheduledTime(parseScheduleExpression("rate(5 minutes)"), new Date("2026-01-15T18:05:00.000Z"))).toBe(true);
  });

  it("rejects invalid fields with the reason", () => {
    expect(errorOf("cron(0 18 * *)")).toBe("cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 4");
    expect(errorOf("cron(0 18 * * * *)")).toBe("cron needs ? in exactly one of day-of-month and day-of-week");
    expect(errorOf("cron(0 18 ? * ? *)")).toBe("cron needs ? in exactly one of day-of-month and day-of-week");
    expect(errorOf("cron(60 18 * * ? *)")).toBe('cron minutes 60: "60" is not in 0-59');
    expect(errorOf("cron(0 18 * 13 ? *)")).toBe('cron month 13: "13" is not in 1-12 or JAN-DEC');
    expect(errorOf("cron(0 18 ? * MON-FOO *)")).toBe('cron day-of-week MON-FOO: "FOO" is not in 1-7 or SUN-SAT');
    expect(errorOf("cron(0 18 5-2 * ? *)")).toBe("cron day-of-month 5-2: the range ends before it starts");
    expect(errorOf("cron(0/0 18 * * ? *)")).toBe("cron minutes 0/0: the step must be a whole number of at least 1");
    expect(errorOf("cron(? 18 * * ? *)")).toBe("cron minutes cannot be ?");
  });

  it("rejects the L, W and # forms", () => {
    expect(errorOf("cron(0 18 L * ? *)")).toBe("cron day-of-month L: the L, W and # forms are not supported");
    expect(errorOf("cron(0 18 15W * ? *)")).toBe("cron day-of-month 15W: the L, W and # forms are not supported");
    expect(errorOf("cron(0 18 ? * 6#3 *)")).toBe("cron day-of-week 6#3: the L, W and # forms are not supported");
    expect(errorOf("cron(0 18 ? * 6L *)")).toBe("cron day-of-week 6L: the L, W and # forms are not supported");
  });
});
