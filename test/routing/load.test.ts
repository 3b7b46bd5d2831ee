import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BridgeError, ConfigError } from "../../lib/errors";
import { createRoutingSource, readSsmParameter } from "../../lib/routing/load";
import { startAwsStandin, StandinFault, type AwsStandin } from "../helpers/aws-standin";
import { readFixture } from "../helpers/fixtures";
import { DEFAULT_TARGET } from "./helpers";

const GET_PARAMETER = "AmazonSSM.GetParameter";
const dir = mkdtempSync(join(tmpdir(), "routing-load-"));
let standin: AwsStandin;

beforeAll(async () => {
  standin = await startAwsStandin();
  for (const [name, value] of Object.entries(standin.env())) vi.stubEnv(name, value);
});
afterEach(() => {
  expect(standin.refused).toEqual([]);
  standin.calls.length = 0;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await standin.close();
  rmSync(dir, { recursive: true, force: true });
});

function getParameterCalls(): Record<string, unknown>[] {
  return standin.calls.filter((call) => call.target === GET_PARAMETER).map((call) => call.input);
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as BridgeError).code;
  }
  return undefined;
}

describe("routing source", () => {
  it("reads a YAML file at creation", async () => {
    const source = createRoutingSource({ file: "test/fixtures/routing/routes.yaml", ssmParameter: undefined }, DEFAULT_TARGET);

    const table = await source.table();

    expect(source.origin).toBe("test/fixtures/routing/routes.yaml");
    expect(table.rules.map((rule) => rule.name)).toEqual(["drop-watchdog", "secops-critical", "edge-clusters", "close-resolved"]);
  });

  it("reads a JSON file", async () => {
    const table = await createRoutingSource({ file: "test/fixtures/routing/routes.json", ssmParameter: undefined }, DEFAULT_TARGET).table();

    expect(table.defaultTargets).toEqual([]);
    expect(table.rules[0]!.targets[0]!.projectId).toBe("0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  });

  it("rejects a missing or invalid file at creation", () => {
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "rules:\n  - name: x\n    drop: maybe\n");

    expect(codeOf(() => createRoutingSource({ file: join(dir, "missing.yaml"), ssmParameter: undefined }, DEFAULT_TARGET))).toBe("BRIDGE.CONFIG_INVALID");
    let issues: readonly string[] = [];
    try {
      createRoutingSource({ file: broken, ssmParameter: undefined }, DEFAULT_TARGET);
    } catch (error) {
      issues = (error as ConfigError).issues;
    }
    expect(issues).toEqual([`${broken}: rules[0] (name "x"): drop: Invalid input: expected boolean, received string`]);
  });

  it("checks match.source against the given source ids", async () => {
    const routes = join(dir, "unknown-source.yaml");
    writeFileSync(routes, "rules:\n  - name: x\n    match: { source: nosuchsource }\n    drop: true\n");
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Value: readFixture("routing/routes.yaml") } }));
    let issues: readonly string[] = [];
    try {
      createRoutingSource({ file: routes, ssmParameter: undefined }, DEFAULT_TARGET, { sourceIds: ["alertmanager"] });
    } catch (error) {
      issues = (error as ConfigError).issues;
    }
    const fromParameter = await createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET, { sourceIds: ["grafana"] })
      .table()
      .catch((error: unknown) => error);

    expect(issues).toEqual([
      `${routes}: rules[0] (name "x"): match.source: "nosuchsource" is not a known source id, so the rule never matches; known source ids: alertmanager; a generic source counts once its mapping is given (--mapping FILE or BRIDGE_GENERIC_MAPPINGS)`,
    ]);
    expect((fromParameter as ConfigError).issues[0]).toMatch(/^ssm:\/x\/routes: rules\[\d\] \(name "[^"]+"\): match\.source: "alertmanager" is not a known source id/);
  });

  it("rejects both a file and a parameter", () => {
    expect(codeOf(() => createRoutingSource({ file: "a.yaml", ssmParameter: "/b" }, DEFAULT_TARGET))).toBe("BRIDGE.CONFIG_INVALID");
  });

  it("without settings routes to the default target", async () => {
    const table = await createRoutingSource({ file: undefined, ssmParameter: undefined }, DEFAULT_TARGET).table();

    expect(table.origin).toBe("environment");
    expect(table.rules).toEqual([]);
    expect(table.defaultTargets).toEqual([DEFAULT_TARGET]);
  });

  it("reads the SSM parameter once", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Name: "/secmaster-bridge/test/routes", Value: readFixture("routing/routes.yaml") } }));
    const source = createRoutingSource({ file: undefined, ssmParameter: "/secmaster-bridge/test/routes" }, DEFAULT_TARGET);

    const first = await source.table();
    const second = await source.table();

    expect(source.origin).toBe("ssm:/secmaster-bridge/test/routes");
    expect(first.rules).toHaveLength(4);
    expect(second).toBe(first);
    expect(getParameterCalls()).toEqual([{ Name: "/secmaster-bridge/test/routes", WithDecryption: true }]);
  });

  it("retries the SSM parameter after a failure", async () => {
    let attempts = 0;
    standin.handle(GET_PARAMETER, () => {
      attempts += 1;
      if (attempts === 1) throw new StandinFault("ParameterNotFound", "not found");
      return { Parameter: { Value: '{"rules": []}' } };
    });
    const source = createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET);

    const failure = await source.table().catch((error: unknown) => error);
    const table = await source.table();

    expect((failure as BridgeError).code).toBe("BRIDGE.ROUTES_UNAVAILABLE");
    expect((failure as BridgeError).statusCode).toBe(503);
    expect((failure as BridgeError).message).toBe("failed to read the routing rules from SSM parameter /x/routes: ParameterNotFound");
    expect(table.rules).toEqual([]);
    expect(getParameterCalls()).toHaveLength(2);
  });

  it("names the parameter in validation issues", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Value: "rules:\n  - name: x\n" } }));

    const failure = await createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET)
      .table()
      .catch((error: unknown) => error);

    expect((failure as ConfigError).issues).toEqual(['ssm:/x/routes: rules[0] (name "x"): targets: is required unless the rule sets drop: true']);
  });

  it("rejects a parameter without a value", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Name: "/x" } }));

    const failure = await readSsmParameter("/x").catch((error: unknown) => error);

    expect((failure as BridgeError).code).toBe("BRIDGE.ROUTES_UNAVAILABLE");
    expect((failure as BridgeError).message).toBe("SSM parameter /x has no value");
  });
});
