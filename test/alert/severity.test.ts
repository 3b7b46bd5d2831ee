import { describe, expect, it } from "vitest";
import { compareSeverity, isSeverity, severityFromLabel } from "../../lib/alert/severity";

describe("severityFromLabel", () => {
  it.each([
    ["critical", "Fatal"],
    [" Critical ", "Fatal"],
    ["P2", "High"],
    ["warning", "Medium"],
    ["minor", "Low"],
    ["info", "Tips"],
  ])("maps %j to %s", (label, expected) => {
    expect(severityFromLabel(label)).toBe(expected);
  });

  it.each([["constructor"], ["__proto__"], ["toString"], ["hasOwnProperty"], ["severe"]])("returns undefined for %j", (label) => {
    expect(severityFromLabel(label)).toBeUndefined();
  });
});

describe("isSeverity and compareSeverity", () => {
  it("accepts only exact spellings", () => {
    expect(isSeverity("High")).toBe(true);
    expect(isSeverity("high")).toBe(false);
  });

  it("orders Tips below Fatal", () => {
    expect(compareSeverity("Tips", "Fatal")).toBeLessThan(0);
    expect(compareSeverity("High", "Medium")).toBeGreaterThan(0);
  });
});
