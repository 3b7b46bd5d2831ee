import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/errors";
import { checkSourceOptions } from "../../lib/runtime";

function issuesOf(options: Record<string, unknown>): readonly string[] {
  try {
    checkSourceOptions(options, {});
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe("checkSourceOptions", () => {
  it("accepts valid settings of several sources", () => {
    expect(issuesOf({ alertmanager: { defaultSeverity: "High" }, grafana: { defaultSeverity: "Low" } })).toEqual([]);
  });

  it("names an unknown source", () => {
    expect(issuesOf({ splunkk: {} })).toEqual(["BRIDGE_SOURCE_OPTIONS: splunkk: unknown source id"]);
  });

  it("names a source without settings", () => {
    expect(issuesOf({ wazuh: {} })).toEqual(["BRIDGE_SOURCE_OPTIONS: wazuh: this source takes no settings"]);
  });

  it("names the invalid field", () => {
    const issues = issuesOf({ alertmanager: { defaultSeverity: "Severe" } });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^BRIDGE_SOURCE_OPTIONS: alertmanager\.defaultSeverity: /);
  });
});

describe("checkSourceOptions messages", () => {
  it("puts no stray dot after a source with an unknown key", () => {
    const issues = issuesOf({ splunk: { triger: "once" } });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^BRIDGE_SOURCE_OPTIONS: splunk: /);
  });
});
