import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { routesCommand } from "../../lib/cli/routes";
import { loadConfig } from "../../lib/config";
import { checkLocalSettings } from "../../lib/local/preflight";
import { captureCliOutput } from "../helpers/cli-output";
import { issuesThrownBy, VALID_ENV } from "../helpers/config-issues";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const ROUTES = join(FIXTURES, "routing/several-problems.yaml");
const MAPPING = join(FIXTURES, "generic/edge-fw-cef-mapping.json");

const VALID = {
  ...VALID_ENV,
  BRIDGE_ROUTES_FILE: ROUTES,
  BRIDGE_GENERIC_MAPPINGS: MAPPING,
};

// An empty data folder, so `routes check` finds no local bridge to use.
const emptyDataDir = mkdtempSync(join(tmpdir(), "preflight-"));
afterAll(() => rmSync(emptyDataDir, { recursive: true, force: true }));

async function routesCheckProblems(): Promise<string[]> {
  const output = captureCliOutput();
  const code = await routesCommand(["check", ROUTES, "--mapping", MAPPING, "--data-dir", emptyDataDir], output.io, {});
  expect(code).toBe(1);
  return output
    .err()
    .split("\n")
    .filter((line) => line.startsWith("  - "))
    .map((line) => line.slice("  - ".length));
}

describe("checkLocalSettings routing file", () => {
  it("matches routes check problems", async () => {
    const expected = await routesCheckProblems();

    const issues = issuesThrownBy(() => checkLocalSettings(VALID, false));

    expect(expected).toHaveLength(4);
    expect(issues).toStrictEqual(expected);
  });

  it("reports the unknown source", () => {
    const issues = issuesThrownBy(() => checkLocalSettings(VALID, false));

    expect(issues.filter((issue) => issue.includes('"cloudwach" is not a known source id'))).toHaveLength(1);
    expect(issues.filter((issue) => issue.includes(`"edge-fw" is not a known source id`))).toHaveLength(0);
  });

  it("matches routes check beside invalid setting", async () => {
    const expected = await routesCheckProblems();

    const issues = issuesThrownBy(() => checkLocalSettings({ ...VALID, BRIDGE_MODE: "bogus" }, false));

    expect(issues[0]).toMatch(/^BRIDGE_MODE: /);
    expect(issues.slice(1)).toStrictEqual(expected);
  });

  it("rejects a generic source without its mapping", () => {
    const { BRIDGE_GENERIC_MAPPINGS: _mapping, ...withoutMapping } = VALID;

    const issues = issuesThrownBy(() => checkLocalSettings({ ...withoutMapping, BRIDGE_MODE: "bogus" }, false));

    expect(issues.some((issue) => issue.includes('"cloudwach" is not a known source id'))).toBe(true);
    expect(issues.some((issue) => issue.includes('"edge-fw" is not a known source id'))).toBe(true);
  });

  it("skips the source check when a mapping fails", () => {
    const env = { ...VALID, BRIDGE_MODE: "bogus", BRIDGE_GENERIC_MAPPINGS: join(emptyDataDir, "missing-mapping.json") };

    const issues = issuesThrownBy(() => checkLocalSettings(env, false));

    expect(issues.some((issue) => issue.includes("missing-mapping.json"))).toBe(true);
    expect(issues.some((issue) => issue.includes("match.min_severity"))).toBe(true);
    expect(issues.some((issue) => issue.includes("is not a known source id"))).toBe(false);
  });
});

describe("loadConfig routing file check", () => {
  it("leaves match.source unchecked by default", () => {
    const issues = issuesThrownBy(() => loadConfig({ ...VALID, BRIDGE_MODE: "bogus" }));

    expect(issues.some((issue) => issue.includes("match.min_severity"))).toBe(true);
    expect(issues.some((issue) => issue.includes("cloudwach"))).toBe(false);
  });
});
