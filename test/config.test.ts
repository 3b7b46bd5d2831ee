import { describe, expect, it } from "vitest";
import { loadConfig } from "../lib/config";
import { ConfigError } from "../lib/errors";

const VALID = {
  SECMASTER_REGION: "cn-north-4",
  SECMASTER_PROJECT_ID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
  SECMASTER_WORKSPACE_ID: "11111111-2222-4333-8444-555555555555",
  SECMASTER_WORKFLOW_ID: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
  SECMASTER_AK: "HPUAEXAMPLEAKID00001",
  SECMASTER_SK: "example-secret",
};

function issuesOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(VALID);

    expect(config.secmaster.dataclassName).toBe("Alert");
    expect(config.secmaster.timeoutMs).toBe(20_000);
    expect(config.idempotency.ttlSeconds).toBe(604_800);
    expect(config.idempotency.tableName).toBe("secmaster-bridge-idempotency");
    expect(config.ingest.maxBodyBytes).toBe(5_242_880);
    expect(config.ingest.defaultSeverity).toBe("Medium");
    expect(config.secmaster.credentials).toEqual({ kind: "aksk", accessKey: "HPUAEXAMPLEAKID00001", secretKey: "example-secret" });
  });

  it("reads token credentials", () => {
    const { SECMASTER_AK: _ak, SECMASTER_SK: _sk, ...rest } = VALID;

    expect(loadConfig({ ...rest, SECMASTER_AUTH_TOKEN: "token" }).secmaster.credentials).toEqual({ kind: "token", token: "token" });
  });

  it("lists every problem at once", () => {
    const issues = issuesOf({ SECMASTER_TIMEOUT_MS: "soon", SECMASTER_WORKFLOW_ID: "wf" });

    expect(issues.some((issue) => issue.startsWith("SECMASTER_PROJECT_ID:"))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("SECMASTER_WORKSPACE_ID:"))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("SECMASTER_TIMEOUT_MS:"))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("SECMASTER_REGION:"))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("SECMASTER_AK:"))).toBe(true);
  });

  it("reports a misspelt setting", () => {
    expect(issuesOf({ ...VALID, SECMASTER_WORKFLOWID: "x" })).toEqual([
      "SECMASTER_WORKFLOWID: unknown setting; check the spelling against the README's settings table",
    ]);
  });

  it("rejects key pair and token together", () => {
    expect(issuesOf({ ...VALID, SECMASTER_AUTH_TOKEN: "token" })).toEqual([
      "SECMASTER_AUTH_TOKEN: set either SECMASTER_AK/SECMASTER_SK or SECMASTER_AUTH_TOKEN, not both",
    ]);
  });

  it("never puts a secret value in an issue", () => {
    const issues = issuesOf({ ...VALID, SECMASTER_AUTH_TOKEN: "very-secret-token" });

    expect(issues.join("\n")).not.toContain("very-secret-token");
    expect(issues.join("\n")).not.toContain("example-secret");
  });
});

describe("BRIDGE_SOURCE_OPTIONS", () => {
  it("parses a JSON object keyed by source id", () => {
    const config = loadConfig({ ...VALID, BRIDGE_SOURCE_OPTIONS: '{"splunk":{"trigger":"once"}}' });

    expect(config.ingest.sourceOptions).toEqual({ splunk: { trigger: "once" } });
  });

  it("rejects text that is not JSON", () => {
    const issues = issuesOf({ ...VALID, BRIDGE_SOURCE_OPTIONS: "splunk=once" });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^BRIDGE_SOURCE_OPTIONS: must be a JSON object keyed by source id/);
  });
});

describe("LOG_LEVEL", () => {
  it("accepts a level in any case", () => {
    expect(loadConfig({ ...VALID, LOG_LEVEL: "debug" }).logLevel).toBe("DEBUG");
  });

  it("rejects an unknown level", () => {
    const issues = issuesOf({ ...VALID, LOG_LEVEL: "verbose" });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^LOG_LEVEL: /);
  });
});
