import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatTime, normalizeTime } from "../../lib/alert/time";
import { BridgeError } from "../../lib/errors";

describe("normalizeTime", () => {
  it.each([
    ["2024-05-14T08:02:11.482Z", "2024-05-14T08:02:11.482Z"],
    ["2024-05-14T08:04:56.1Z", "2024-05-14T08:04:56.100Z"],
    ["2024-05-14T12:07:10.013525+02:00", "2024-05-14T10:07:10.013Z"],
    ["2024-05-14T09:31:07.405+0000", "2024-05-14T09:31:07.405Z"],
    ["2024-05-14T09:31:07.123456789-0530", "2024-05-14T15:01:07.123Z"],
    ["2024-05-14T10:38:25.8812345Z", "2024-05-14T10:38:25.881Z"],
    ["2024-05-14 08:02:11Z", "2024-05-14T08:02:11.000Z"],
    ["1715682101.000", "2024-05-14T10:21:41.000Z"],
    ["1715683125000", "2024-05-14T10:38:45.000Z"],
    [1715683125, "2024-05-14T10:38:45.000Z"],
    [1715683125123, "2024-05-14T10:38:45.123Z"],
  ])("reads %j as %s", (input, expected) => {
    expect(normalizeTime(input)).toBe(expected);
  });

  it.each([["0001-01-01T00:00:00Z"], [""], [null], [undefined], [0]])("treats %j as unset", (input) => {
    expect(normalizeTime(input)).toBeUndefined();
  });

  it("honours an explicit epoch unit", () => {
    expect(normalizeTime("1715683125", { epoch: "milliseconds" })).toBe("1970-01-20T20:34:43.125Z");
    expect(normalizeTime(1715683125000 / 1000, { epoch: "seconds" })).toBe("2024-05-14T10:38:45.000Z");
  });

  it.each([["2024-05-14T08:02:11"], ["May 14 09:55:12"], ["yesterday"], [{}], [-5], ["2024-13-40T00:00:00Z"], [253402300800000]])(
    "rejects %j with a field in the message",
    (input) => {
      let caught: unknown;
      try {
        normalizeTime(input, { field: "alerts[0].startsAt" });
      } catch (error) {
        caught = error;
      }

      expect(caught).toBeInstanceOf(BridgeError);
      expect((caught as BridgeError).code).toBe("BRIDGE.TIME_INVALID");
      expect((caught as BridgeError).message).toContain("alerts[0].startsAt");
    },
  );

  it("returns RFC 3339 UTC or fails with our code for any input", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.integer(), fc.double(), fc.maxSafeNat(), fc.date({ noInvalidDate: true }).map((date) => date.toISOString())),
        (input) => {
          let result: string | undefined;
          try {
            result = normalizeTime(input);
          } catch (error) {
            expect((error as BridgeError).code).toBe("BRIDGE.TIME_INVALID");
            return;
          }
          if (result !== undefined) expect(result).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("keeps the instant of any ISO date with an offset", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1970-01-02T00:00:00Z"), max: new Date("2200-01-01T00:00:00Z"), noInvalidDate: true }),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        (date, offsetMinutes) => {
          const shifted = new Date(date.getTime() + offsetMinutes * 60_000);
          const sign = offsetMinutes < 0 ? "-" : "+";
          const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, "0");
          const minutes = String(Math.abs(offsetMinutes) % 60).padStart(2, "0");
          const local = `${shifted.toISOString().slice(0, 23)}${sign}${hours}${minutes}`;

          expect(normalizeTime(local)).toBe(date.toISOString());
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("normalizeTime field edge cases", () => {
  it.each([
    ["2024-02-30T00:00:00Z", "2024-03-01T00:00:00.000Z"],
    ["2023-02-29T10:00:00Z", "2023-03-01T10:00:00.000Z"],
    ["2024-04-31T00:00:00Z", "2024-05-01T00:00:00.000Z"],
    ["2024-02-29T12:00:00-0800", "2024-02-29T20:00:00.000Z"],
    ["2100-02-29T00:00:00Z", "2100-03-01T00:00:00.000Z"],
    ["2000-02-29T23:59:59.999+23:59", "2000-02-29T00:00:59.999Z"],
    ["2024-01-01T24:00:00Z", "2024-01-02T00:00:00.000Z"],
    ["1970-01-01T00:00:00.001Z", "1970-01-01T00:00:00.001Z"],
    ["1970-01-01T00:30:00+01:00", "1969-12-31T23:30:00.000Z"],
    ["0050-06-01T00:00:00Z", "0050-06-01T00:00:00.000Z"],
    ["0099-12-31T23:59:59Z", "0099-12-31T23:59:59.000Z"],
    ["0100-03-01T00:00:00Z", "0100-03-01T00:00:00.000Z"],
    ["0000-01-01T00:30:00+01:00", "-000001-12-31T23:30:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    ["9999-12-31T23:59:59.999-01:00", "+010000-01-01T00:59:59.999Z"],
  ])("reads %j as %s", (input, expected) => {
    expect(normalizeTime(input)).toBe(expected);
  });

  it.each([
    ["2024-01-32T00:00:00Z"],
    ["2024-00-10T00:00:00Z"],
    ["2024-13-10T00:00:00Z"],
    ["2024-01-00T00:00:00Z"],
    ["2024-01-01T24:00:01Z"],
    ["2024-01-01T25:00:00Z"],
    ["2024-01-01T23:60:00Z"],
    ["2024-01-01T23:59:60Z"],
    ["2024-01-01T00:00:00+24:00"],
    ["2024-01-01T00:00:00-0060"],
  ])("rejects %j", (input) => {
    let caught: unknown;
    try {
      normalizeTime(input);
    } catch (error) {
      caught = error;
    }

    expect((caught as BridgeError).code).toBe("BRIDGE.TIME_INVALID");
  });

  it("matches Date for any digits in the fields", () => {
    const digits = (length: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: length, maxLength: length });
    fc.assert(
      fc.property(
        fc.tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3)),
        fc.constantFrom("Z", "+", "-"),
        digits(2),
        digits(2),
        ([year, month, day, hour, minute, second, fraction], sign, offsetHours, offsetMinutes) => {
          const zone = sign === "Z" ? "Z" : `${sign}${offsetHours}:${offsetMinutes}`;
          const input = `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction}${zone}`;
          const reference = new Date(input);
          const isGoZero = year === "0001" && month === "01" && day === "01";

          if (isGoZero) expect(normalizeTime(input)).toBeUndefined();
          else if (Number.isNaN(reference.getTime())) expect(() => normalizeTime(input)).toThrow(BridgeError);
          else expect(normalizeTime(input)).toBe(reference.toISOString());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("matches Date for plausible dates", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 86_399_999 }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (year, month, day, dayMs, offset) => {
          const pad = (value: number, width: number) => String(value).padStart(width, "0");
          const time = `${pad(Math.floor(dayMs / 3_600_000), 2)}:${pad(Math.floor(dayMs / 60_000) % 60, 2)}:${pad(Math.floor(dayMs / 1000) % 60, 2)}.${pad(dayMs % 1000, 3)}`;
          const zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60), 2)}:${pad(Math.abs(offset) % 60, 2)}`;
          const input = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}${zone}`;

          expect(normalizeTime(input)).toBe(new Date(input).toISOString());
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe("formatTime", () => {
  it.each([
    [0, "1970-01-01T00:00:00.000Z"],
    [951_782_400_000, "2000-02-29T00:00:00.000Z"],
    [1_715_683_125_123, "2024-05-14T10:38:45.123Z"],
    [4_107_542_400_000, "2100-03-01T00:00:00.000Z"],
    [253_402_300_799_999, "9999-12-31T23:59:59.999Z"],
    [253_402_300_800_000, "+010000-01-01T00:00:00.000Z"],
    [-1, "1969-12-31T23:59:59.999Z"],
    [1.5, "1970-01-01T00:00:00.001Z"],
  ])("formats %d as %s", (input, expected) => {
    expect(formatTime(input)).toBe(expected);
  });

  it("throws RangeError for NaN", () => {
    expect(() => formatTime(Number.NaN)).toThrow(RangeError);
  });

  it("matches toISOString", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e15, max: 8.64e15 }), (epochMs) => {
        expect(formatTime(epochMs)).toBe(new Date(epochMs).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });
});
