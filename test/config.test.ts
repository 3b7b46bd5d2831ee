import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../lib/config";
// Importing the ingest runtime registers its file checks with loadConfig, as every ingest handler does.
import { createIngestRuntime } from "../lib/ingest-runtime";
import { issuesThrownBy, VALID_ENV } from "./helpers/config-issues";

const VALID = VALID_ENV;

function issuesOf(env: Record<string, string>): readonly string[] {
  return issuesThrownBy(() => loadConfig(env));
}

describe("loadConfig", () => {
  it("calls a missing required id required", () => {
    const { SECMASTER_PROJECT_ID: _missing, ...rest } = VALID;

    expect(issuesOf(rest)).toContain("SECMASTER_PROJECT_ID: is required");
  });

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

  it.each([
    ["-5", "SECMASTER_TIMEOUT_MS: must be a positive whole number (1 or more)"],
    ["0", "SECMASTER_TIMEOUT_MS: must be a positive whole number (1 or more)"],
    ["1.5", "SECMASTER_TIMEOUT_MS: must be a whole number"],
  ])("reports timeout %s precisely", (value, message) => {
    expect(issuesOf({ ...VALID, SECMASTER_TIMEOUT_MS: value })).toEqual([message]);
  });

  it("reports a negative max receives", () => {
    expect(issuesOf({ ...VALID, BRIDGE_MAX_RECEIVES: "-1" })).toEqual(["BRIDGE_MAX_RECEIVES: must be a positive whole number (1 or more)"]);
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

// Direct mode needs no queue, so createIngestRuntime reports only the file problems.
const DIRECT = { ...VALID, BRIDGE_MODE: "direct" };

let dir: string;
let badRoutes: string;
let badMapping: string;
let badSchedules: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "config-files-"));
  badRoutes = join(dir, "routes.yaml");
  writeFileSync(badRoutes, "rules:\n  - name: broken\n    targets: []\n");
  badMapping = join(dir, "mapping.json");
  writeFileSync(badMapping, JSON.stringify({ source_key: "edge-fw", format: "json", fields: {} }));
  badSchedules = join(dir, "schedules.yaml");
  writeFileSync(badSchedules, "schedules:\n  - name: nightly\n    expression: every night\n    alert: { title: x }\n");
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function settingsOf(issues: readonly string[]): string[] {
  return issues.map((issue) => issue.slice(0, issue.indexOf(":")));
}

describe("loadConfig with file settings", () => {
  it("lists environment and file problems in one error", () => {
    const issues = issuesOf({
      ...DIRECT,
      BRIDGE_MAX_BODY_BYTES: "x",
      BRIDGE_SOURCE_OPTIONS: '{"splunk":{"trigger":"twice"}}',
      BRIDGE_ROUTES_FILE: badRoutes,
      BRIDGE_GENERIC_MAPPINGS: badMapping,
      BRIDGE_SCHEDULES_FILE: badSchedules,
    });

    expect(issues).toContain("BRIDGE_MAX_BODY_BYTES: must be a whole number");
    expect(issues.some((issue) => issue.startsWith("BRIDGE_SOURCE_OPTIONS: splunk.trigger: "))).toBe(true);
    expect(issues.some((issue) => issue.startsWith(`BRIDGE_GENERIC_MAPPINGS: ${badMapping} mapping 0`))).toBe(true);
    expect(issues.some((issue) => issue.startsWith(`${badRoutes}: rules[0] (name "broken"): targets: `))).toBe(true);
    expect(issues.some((issue) => issue.startsWith(`${badSchedules}: `))).toBe(true);
  });

  it("lists source options problems behind an invalid LOG_LEVEL", () => {
    const issues = issuesOf({ ...DIRECT, LOG_LEVEL: "verbose", BRIDGE_SOURCE_OPTIONS: '{"splunk":{"trigger":"twice"}}' });

    expect(settingsOf(issues)).toEqual(["LOG_LEVEL", "BRIDGE_SOURCE_OPTIONS"]);
  });

  it("reports a source options text that is not JSON once", () => {
    const issues = issuesOf({ ...DIRECT, BRIDGE_SOURCE_OPTIONS: "{splunk" });

    expect(settingsOf(issues)).toEqual(["BRIDGE_SOURCE_OPTIONS"]);
  });

  it("names a misspelt auth source beside its missing secret", () => {
    const issues = issuesOf({ ...DIRECT, BRIDGE_AUTH_SPLUNKK: "path-token" });

    expect(issues).toContain(
      "BRIDGE_AUTH_SPLUNKK: no source has the id splunkk; check the spelling against the README's source list",
    );
    expect(issues.some((issue) => issue.startsWith("BRIDGE_AUTH_SPLUNKK_SECRETS: "))).toBe(true);
  });

  it("reads no file when the environment is valid", () => {
    const config = loadConfig({ ...DIRECT, BRIDGE_ROUTES_FILE: badRoutes });

    expect(config.routing.file).toBe(badRoutes);
  });
});

describe("createIngestRuntime problems", () => {
  it("lists mapping, options, routing and schedules problems together", () => {
    const config = loadConfig({
      ...DIRECT,
      BRIDGE_SOURCE_OPTIONS: '{"splunk":{"trigger":"twice"}}',
      BRIDGE_ROUTES_FILE: badRoutes,
      BRIDGE_GENERIC_MAPPINGS: badMapping,
      BRIDGE_SCHEDULES_FILE: badSchedules,
    });
    const issues = issuesThrownBy(() => createIngestRuntime(config));

    expect(issues.some((issue) => issue.startsWith(`BRIDGE_GENERIC_MAPPINGS: ${badMapping} mapping 0`))).toBe(true);
    expect(issues.some((issue) => issue.startsWith("BRIDGE_SOURCE_OPTIONS: splunk.trigger: "))).toBe(true);
    expect(issues.some((issue) => issue.startsWith(`${badRoutes}: `))).toBe(true);
    expect(issues.some((issue) => issue.startsWith(`${badSchedules}: `))).toBe(true);
  });

  it("does not call options of a failed mapping unknown", () => {
    const config = loadConfig({ ...DIRECT, BRIDGE_GENERIC_MAPPINGS: badMapping, BRIDGE_SOURCE_OPTIONS: '{"edge-fw":{}}' });
    const issues = issuesThrownBy(() => createIngestRuntime(config));

    expect(settingsOf(issues)).toEqual(["BRIDGE_GENERIC_MAPPINGS"]);
  });

  it("accepts rules for unmapped generic sources", () => {
    // The events and schedule functions share ingest's routing file without its generic mappings.
    const routes = join(dir, "generic-routes.yaml");
    writeFileSync(routes, "rules:\n  - name: idp\n    match: { source: my-idp }\n    targets: [{ workspace_id: 11111111-2222-4333-8444-555555555555, workflow_id: aaaaaaaa-0000-4000-8000-000000000002 }]\n");
    const config = loadConfig({ ...DIRECT, BRIDGE_ROUTES_FILE: routes });

    expect(createIngestRuntime(config).routing.origin).toBe(routes);
  });

  it("names a missing queue beside a routing problem", () => {
    const config = loadConfig({ ...DIRECT, BRIDGE_MODE: "queue", BRIDGE_ROUTES_FILE: badRoutes });
    const issues = issuesThrownBy(() => createIngestRuntime(config));

    expect(issues[0]).toBe("BRIDGE_QUEUE_URL: queue mode needs a queue; set the SQS queue URL, or BRIDGE_MODE=direct");
    expect(issues.slice(1).every((issue) => issue.startsWith(`${badRoutes}: `))).toBe(true);
    expect(issues.length).toBeGreaterThan(1);
  });
});
