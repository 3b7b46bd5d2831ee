import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { BridgeError, ConfigError } from "../../lib/errors";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";
import { readFixture } from "../helpers/fixtures";
import { DEFAULT_TARGET } from "./helpers";

// The test setup registers the YAML parser. Each test here resets the module registry and imports
// fresh copies of the loaders, which start without a parser, as in a deployed function.
type DocumentModule = typeof import("../../lib/routing/document");

const GET_PARAMETER = "AmazonSSM.GetParameter";
let standin: AwsStandin;
let document: DocumentModule;

beforeAll(async () => {
  standin = await startAwsStandin();
  for (const [name, value] of Object.entries(standin.env())) vi.stubEnv(name, value);
});
beforeEach(async () => {
  vi.resetModules();
  document = await import("../../lib/routing/document");
});
afterEach(() => {
  expect(standin.refused).toEqual([]);
  standin.calls.length = 0;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await standin.close();
});

/** Returns the error `run` throws, or undefined. */
function errorOf(run: () => unknown): ConfigError | undefined {
  try {
    run();
  } catch (error) {
    return error as ConfigError;
  }
  return undefined;
}

/** Parses `text` as a fetched routing file, returning the value or the error. */
function fetchedValueOf(text: string): Promise<unknown> {
  return document.parseFetchedConfigText(text, "ssm:/x/routes").catch((error: unknown) => error);
}

describe("loaders without a YAML parser", () => {
  it("routing file in YAML raises a clear error", async () => {
    const { readRoutingFile } = await import("../../lib/routing/load");

    const error = errorOf(() => readRoutingFile("test/fixtures/routing/routes.yaml", DEFAULT_TARGET));

    expect(error?.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error?.issues).toEqual([
      "BRIDGE_ROUTES_FILE: cannot parse test/fixtures/routing/routes.yaml as YAML, because this process loaded no YAML parser; the deployed functions read the JSON copy that osls package writes, so set BRIDGE_ROUTES_FILE to that copy or to a .json file",
    ]);
  });

  it("schedules file in YAML raises a clear error", async () => {
    const { readSchedulesFile } = await import("../../lib/schedule/load");

    const error = errorOf(() => readSchedulesFile("test/fixtures/schedule/schedules.yaml"));

    expect(error?.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error?.issues[0]).toMatch(/^BRIDGE_SCHEDULES_FILE: cannot parse test\/fixtures\/schedule\/schedules\.yaml as YAML, .*JSON copy that osls package writes/);
  });

  it("YAML text raises a clear error", () => {
    const error = errorOf(() => document.parseConfigText("rules: []\n", "routes.yaml"));

    expect(error?.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error?.issues).toEqual([
      "routes.yaml: cannot parse YAML, because this process loaded no YAML parser; the deployed functions read the JSON copy that osls package writes, so use that copy or a .json file",
    ]);
  });

  it("JSON routing file reads as before", async () => {
    const { readRoutingFile } = await import("../../lib/routing/load");

    const table = readRoutingFile("test/fixtures/routing/routes.json", DEFAULT_TARGET);

    expect(table.rules[0]!.targets[0]!.projectId).toBe("0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  });

  it("missing file is reported before the parser", () => {
    const error = errorOf(() => document.readConfigFile("test/fixtures/routing/no-such-routes.yaml", "BRIDGE_ROUTES_FILE"));

    expect(error?.issues).toEqual(["BRIDGE_ROUTES_FILE: cannot read test/fixtures/routing/no-such-routes.yaml: ENOENT"]);
  });
});

describe("files named in the environment", () => {
  it("YAML routing file loads the parser on demand", async () => {
    const { readRoutingFile } = await import("../../lib/routing/load");

    await document.loadYamlParserFor({ BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.yaml" });

    expect(errorOf(() => readRoutingFile("test/fixtures/routing/routes.yaml", DEFAULT_TARGET))).toBeUndefined();
  });

  it("YAML schedules file loads the parser on demand", async () => {
    const { readSchedulesFile } = await import("../../lib/schedule/load");

    await document.loadYamlParserFor({ BRIDGE_SCHEDULES_FILE: " test/fixtures/schedule/schedules.yaml " });

    expect(errorOf(() => readSchedulesFile("test/fixtures/schedule/schedules.yaml"))).toBeUndefined();
  });

  it("JSON files leave the parser unloaded", async () => {
    const { readRoutingFile } = await import("../../lib/routing/load");

    await document.loadYamlParserFor({ BRIDGE_ROUTES_FILE: ".build/config/routes.json", BRIDGE_SCHEDULES_FILE: "" });

    expect(errorOf(() => readRoutingFile("test/fixtures/routing/routes.yaml", DEFAULT_TARGET))?.code).toBe("BRIDGE.CONFIG_INVALID");
  });
});

describe("fetched routing text", () => {
  it("JSON object is read without loading the YAML parser", async () => {
    const value = await fetchedValueOf('{"version": 1, "rules": [{"name": "a", "drop": true}]}');

    expect(value).toEqual({ version: 1, rules: [{ name: "a", drop: true }] });
    // Still no parser: the JSON path did not import the YAML module.
    expect(errorOf(() => document.parseConfigText("rules: []\n", "routes.yaml"))?.code).toBe("BRIDGE.CONFIG_INVALID");
  });

  it("YAML text loads the parser on demand", async () => {
    const value = await fetchedValueOf("version: 1\nrules:\n  - name: a\n    drop: true\n");

    expect(value).toEqual({ version: 1, rules: [{ name: "a", drop: true }] });
    expect(document.parseConfigText("rules: []\n", "routes.yaml")).toEqual({ rules: [] });
  });

  it("YAML flow mapping is read as YAML", async () => {
    expect(await fetchedValueOf("{version: 1, rules: []}")).toEqual({ version: 1, rules: [] });
  });

  it("JSON with a repeated key is rejected as in YAML", async () => {
    const error = (await fetchedValueOf('{"rules": [], "version": 1, "rules": []}')) as ConfigError;

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error.issues[0]).toMatch(/^ssm:\/x\/routes: invalid YAML: Map keys must be unique/);
  });

  it("repeated key written with an escape is rejected", async () => {
    const error = (await fetchedValueOf('{"rules": [], "\\u0072ules": []}')) as ConfigError;

    expect(error.issues[0]).toMatch(/Map keys must be unique/);
  });

  it("repeated key in a nested object is rejected", async () => {
    const error = (await fetchedValueOf('{"rules": [{"name": "a", "match": {"labels": {}, "labels": {}}}]}')) as ConfigError;

    expect(error.issues[0]).toMatch(/Map keys must be unique/);
  });

  it("same key in different objects is accepted", async () => {
    const text = '{"name": "top", "rules": [{"name": "a", "match": {"name": "x"}}, {"name": "b"}], "list": ["name", "name"]}';

    expect(await fetchedValueOf(text)).toEqual({ name: "top", rules: [{ name: "a", match: { name: "x" } }, { name: "b" }], list: ["name", "name"] });
  });

  it("strings with quotes, commas and braces do not confuse key checks", async () => {
    const text = '{"a": "x\\", \\"a\\": {", "b": "}, ]", "c": "\\\\"}';

    expect(await fetchedValueOf(text)).toEqual({ a: 'x", "a": {', b: "}, ]", c: "\\" });
  });

  it("invalid text names the origin", async () => {
    const error = (await fetchedValueOf("rules: [\n")) as ConfigError;

    expect(error.code).toBe("BRIDGE.CONFIG_INVALID");
    expect(error.issues[0]).toMatch(/^ssm:\/x\/routes: invalid YAML: /);
  });
});

describe("routing rules from SSM without a registered parser", () => {
  it("YAML parameter value still compiles", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Value: readFixture("routing/routes.yaml") } }));
    const { createRoutingSource } = await import("../../lib/routing/load");

    const table = await createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET).table();

    expect(table.rules.map((rule) => rule.name)).toEqual(["drop-watchdog", "secops-critical", "edge-clusters", "close-resolved"]);
  });

  it("JSON parameter value compiles", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Value: readFixture("routing/routes.json") } }));
    const { createRoutingSource } = await import("../../lib/routing/load");

    const table = await createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET).table();

    expect(table.rules[0]!.targets[0]!.projectId).toBe("0a1b2c3d4e5f60718293a4b5c6d7e8f9");
  });

  it("invalid YAML parameter value is a configuration error", async () => {
    standin.handle(GET_PARAMETER, () => ({ Parameter: { Value: "rules:\n  - name: a\n   bad: [" } }));
    const { createRoutingSource } = await import("../../lib/routing/load");

    const failure = (await createRoutingSource({ file: undefined, ssmParameter: "/x/routes" }, DEFAULT_TARGET)
      .table()
      .catch((error: unknown) => error)) as BridgeError;

    expect(failure.code).toBe("BRIDGE.CONFIG_INVALID");
    expect((failure as ConfigError).issues[0]).toMatch(/^ssm:\/x\/routes: invalid YAML: /);
  });
});
