import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeTime } from "../../lib/alert/time";
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
