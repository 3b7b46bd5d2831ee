import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { convertTime, isSupportedTimeZone, TimeConverter } from "../../lib/sources/time-text";
import { bridgeErrorOf } from "./normalize-context";

describe("convertTime", () => {
  it.each([
    ["May 14 2024 11:07:11 UTC", "2024-05-14T11:07:11.000Z"],
    ["May 14 2024 11:07:11.25 GMT", "2024-05-14T11:07:11.250Z"],
    ["may 4 2024 19:07:11 +0800", "2024-05-04T11:07:11.000Z"],
    ["Dec 31 2023 23:30:00 -05:00", "2024-01-01T04:30:00.000Z"],
    ["May 14 2024 19:07:11 Asia/Shanghai", "2024-05-14T11:07:11.000Z"],
    ["Jul 01 2024 12:00:00 Europe/Berlin", "2024-07-01T10:00:00.000Z"],
    ["Jan 15 2024 12:00:00 Europe/Berlin", "2024-01-15T11:00:00.000Z"],
    ["2024-05-14T12:07:10.013525+02:00", "2024-05-14T10:07:10.013Z"],
    [1715684834567, "2024-05-14T11:07:14.567Z"],
    ["1715684834", "2024-05-14T11:07:14.000Z"],
  ])("reads %s in auto mode", (value, expected) => {
    expect(convertTime(value, "auto")).toBe(expected);
  });

  it("places zone-less times in the configured zone", () => {
    expect(convertTime("May 14 2024 19:07:11", "auto", { timeZone: "Asia/Shanghai" })).toBe("2024-05-14T11:07:11.000Z");
    expect(convertTime("2024-05-14T19:07:11.5", "rfc3339", { timeZone: "+08:00" })).toBe("2024-05-14T11:07:11.500Z");
    expect(convertTime("2024-05-14 11:07:11", "auto", { timeZone: "UTC" })).toBe("2024-05-14T11:07:11.000Z");
  });

  it("rejects zone-less times without a zone", () => {
    const error = bridgeErrorOf(() => convertTime("May 14 2024 19:07:11", "auto", { field: "[0].rt" }));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("[0].rt");
    expect(error.message).toContain("time_zone");
  });

  it("rejects an unknown zone name", () => {
    const error = bridgeErrorOf(() => convertTime("May 14 2024 19:07:11 Mars/Olympus", "auto"));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
  });

  it("applies the epoch unit of the type", () => {
    expect(convertTime(1715684834, "epoch_s")).toBe("2024-05-14T11:07:14.000Z");
    expect(convertTime("1715684834567", "epoch_ms")).toBe("2024-05-14T11:07:14.567Z");
    expect(convertTime(1715684834, "epoch_ms")).toBe("1970-01-20T20:34:44.834Z");
  });

  it("rejects a number for rfc3339", () => {
    expect(bridgeErrorOf(() => convertTime(1715684834, "rfc3339")).code).toBe("BRIDGE.TIME_INVALID");
  });

  it("treats unset values as missing", () => {
    expect(convertTime("0001-01-01T00:00:00Z", "auto")).toBeUndefined();
    expect(convertTime(null, "auto")).toBeUndefined();
  });
});

describe("convertTime wall-clock edge cases", () => {
  it.each([
    ["Feb 30 2024 10:00:00 UTC", undefined, "2024-03-01T10:00:00.000Z"],
    ["Jan 01 0001 00:00:00 UTC", undefined, undefined],
    ["Jan 1 0001 00:00:00", "+08:00", undefined],
    ["May 14 0050 11:07:11 +01:00", undefined, "0050-05-14T10:07:11.000Z"],
    ["May 14 2024 24:00:00 UTC", undefined, "2024-05-15T00:00:00.000Z"],
    ["May 14 2024 11:07:11 +23:59", undefined, "2024-05-13T11:08:11.000Z"],
    ["May 14 2024 11:07:11 UTC+0575", undefined, "2024-05-14T04:52:11.000Z"],
    ["May 14 2024 11:07:11.5 Asia/Shanghai", undefined, "2024-05-14T03:07:11.500Z"],
    ["Mar 10 2024 02:30:00", "America/New_York", "2024-03-10T06:30:00.000Z"],
    ["Nov 03 2024 01:30:00", "America/New_York", "2024-11-03T05:30:00.000Z"],
    ["2024-05-14T11:07:11.123456", "Asia/Kolkata", "2024-05-14T05:37:11.123Z"],
    ["2024-02-30 10:00:00", "-05:00", "2024-03-01T15:00:00.000Z"],
    ["Dec 31 9999 23:59:59.999 -01:00", undefined, "+010000-01-01T00:59:59.999Z"],
  ])("reads %j in zone %j", (value, timeZone, expected) => {
    expect(convertTime(value, "auto", timeZone === undefined ? {} : { timeZone })).toBe(expected);
  });

  it.each([["May 14 2024 23:59:60 UTC"], ["May 14 2024 11:07:11 +24:00"], ["May 14 2024 11:07:11 Mars/Olympus"]])("rejects %j", (value) => {
    expect(bridgeErrorOf(() => convertTime(value, "auto")).code).toBe("BRIDGE.TIME_INVALID");
  });

  it("rejects month 13 in a configured zone", () => {
    expect(bridgeErrorOf(() => convertTime("2024-13-01T00:00:00", "auto", { timeZone: "UTC" })).code).toBe("BRIDGE.TIME_INVALID");
  });

  it("gives the same result for repeated zones", () => {
    const zones = ["Asia/Shanghai", "asia/shanghai", "Europe/Berlin", "+05:30", "UTC"];
    const first = zones.map((timeZone) => convertTime("Jul 01 2024 12:00:00", "auto", { timeZone }));
    const second = zones.map((timeZone) => convertTime("Jul 01 2024 12:00:00", "auto", { timeZone }));

    expect(first).toStrictEqual(["2024-07-01T04:00:00.000Z", "2024-07-01T04:00:00.000Z", "2024-07-01T10:00:00.000Z", "2024-07-01T06:30:00.000Z", "2024-07-01T12:00:00.000Z"]);
    expect(second).toStrictEqual(first);
  });
});

describe("convertTime CEF dates", () => {
  const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (value: number, width: number) => String(value).padStart(width, "0");

  it("reads every field of random dates", () => {
    const date = fc.record({
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      twoDigitDay: fc.boolean(),
      year: fc.integer({ min: 1970, max: 2100 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.constantFrom("", ".5", ".05", ".123", ".9"),
      caseOf: fc.constantFrom((text: string) => text, (text: string) => text.toUpperCase(), (text: string) => text.toLowerCase()),
      zone: fc.constantFrom(["UTC", 0], ["GMT", 0], ["Z", 0], ["utc", 0], ["+08:00", 480], ["-0530", -330], ["UTC+0100", 60]),
    });

    fc.assert(
      fc.property(date, ({ month, day, twoDigitDay, year, hour, minute, second, fraction, caseOf, zone }) => {
        const [zoneName, offsetMinutes] = zone as [string, number];
        const dayText = twoDigitDay ? pad(day, 2) : String(day);
        const text = `${caseOf(MONTH_NAMES[month - 1] as string)} ${dayText} ${year} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction} ${zoneName}`;
        const milliseconds = fraction === "" ? 0 : Number(fraction.slice(1).padEnd(3, "0"));
        const expected = new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds) - offsetMinutes * 60_000).toISOString();

        expect(convertTime(text, "auto")).toBe(expected);
      }),
    );
  });

  it.each([
    ["\tMay 14 2024 11:07:11 UTC\n", "2024-05-14T11:07:11.000Z"],
    ["May 14 2024 11:07:11 UTC\u00a0", "2024-05-14T11:07:11.000Z"],
    ["May 4 2024 11:07:11.5", "2024-05-04T11:07:11.500Z"],
  ])("reads %j", (value, expected) => {
    expect(convertTime(value, "auto", { timeZone: "UTC" })).toBe(expected);
  });

  it.each([
    ["May 14 2024 11:07:11.1234 UTC"],
    ["May 114 2024 11:07:11 UTC"],
    ["May  14 2024 11:07:11 UTC"],
    ["May 14 2024 11:07:11  UTC"],
    ["May 14 2024 11:07:11. UTC"],
    ["Mai 14 2024 11:07:11 UTC"],
    ["May 14 2024 1:07:11 UTC"],
    ["May 14 2024 11:07:11 U\u2028TC"],
    ["May 14 2024 11:07:11 \u00a0UTC"],
  ])("rejects %j", (value) => {
    expect(bridgeErrorOf(() => convertTime(value, "auto", { timeZone: "UTC" })).code).toBe("BRIDGE.TIME_INVALID");
  });

  it("names a zone beyond ASCII as unknown", () => {
    const error = bridgeErrorOf(() => convertTime("May 14 2024 11:07:11 Zoné", "auto"));

    expect(error.message).toContain('unknown time zone "Zoné"');
  });
});

describe("TimeConverter", () => {
  it("converts like convertTime", () => {
    const times = new TimeConverter("Asia/Shanghai");

    expect(times.convert("May 14 2024 19:07:11", "auto", "rt")).toBe("2024-05-14T11:07:11.000Z");
    expect(times.convert("May 14 2024 19:07:11", "auto", "end")).toBe("2024-05-14T11:07:11.000Z");
    expect(times.convert("1715684834", "auto", "start")).toBe("2024-05-14T11:07:14.000Z");
    expect(times.convert("1715684834", "epoch_ms", "start")).toBe("1970-01-20T20:34:44.834Z");
    expect(times.convert(1715684834, "auto", "start")).toBe("2024-05-14T11:07:14.000Z");
    expect(times.convert(null, "auto", "start")).toBeUndefined();
  });

  it("rejects a bad value on every call with its own field", () => {
    const times = new TimeConverter(undefined);

    const first = bridgeErrorOf(() => times.convert("May 14 2024 19:07:11", "auto", "[0].rt"));
    const second = bridgeErrorOf(() => times.convert("May 14 2024 19:07:11", "auto", "[0].end"));

    expect(first.code).toBe("BRIDGE.TIME_INVALID");
    expect(first.field).toBe("[0].rt");
    expect(second.field).toBe("[0].end");
  });

  it("locates a value only when converting it", () => {
    const times = new TimeConverter("UTC");
    const located: string[] = [];
    const locator = {
      locate(path: { text: string }) {
        located.push(path.text);
        return `[0]${path.text.slice(1)}`;
      },
    };
    const rt = { text: "$.rt", segments: ["rt"] };
    const end = { text: "$.end", segments: ["end"] };

    expect(times.convertAt("May 14 2024 11:07:11", "auto", locator, rt)).toBe("2024-05-14T11:07:11.000Z");
    expect(times.convertAt("May 14 2024 11:07:11", "auto", locator, end)).toBe("2024-05-14T11:07:11.000Z");
    expect(times.convert("May 14 2024 11:07:11", "auto", "[0].start")).toBe("2024-05-14T11:07:11.000Z");
    expect(located).toEqual(["$.rt"]);
  });

  it("keys each result by value and type", () => {
    const times = new TimeConverter(undefined);

    expect(times.convert("1715684834", "epoch_ms", "start")).toBe("1970-01-20T20:34:44.834Z");
    expect(times.convert(1715684834, "epoch_s", "start")).toBe("2024-05-14T11:07:14.000Z");
    expect(times.convert(1715684834, "epoch_ms", "start")).toBe("1970-01-20T20:34:44.834Z");
  });

  it("names the located field when a conversion fails", () => {
    const times = new TimeConverter(undefined);
    const locator = { locate: () => "[3].message (CEF rt)" };

    const error = bridgeErrorOf(() => times.convertAt("May 14 2024 19:07:11", "auto", locator, { text: "$.rt", segments: ["rt"] }));

    expect(error.code).toBe("BRIDGE.TIME_INVALID");
    expect(error.field).toBe("[3].message (CEF rt)");
  });
});

describe("isSupportedTimeZone", () => {
  it.each([
    ["UTC", true],
    ["Z", true],
    ["+08:00", true],
    ["UTC-0330", true],
    ["Asia/Shanghai", true],
    ["Mars/Olympus", false],
    ["+8", false],
  ])("%s gives %s", (zone, supported) => {
    expect(isSupportedTimeZone(zone)).toBe(supported);
  });
});
