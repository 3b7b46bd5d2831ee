import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/errors";
import { checkAlertPath, compileRoutingFile } from "../../lib/routing/compile";
import { parseConfigText } from "../../lib/routing/document";
import { DEFAULT_TARGET, target, workflow } from "./helpers";

function compile(input: unknown) {
  return compileRoutingFile(input, { origin: "routes.yaml", defaultTarget: DEFAULT_TARGET });
}

function issuesOf(input: unknown): readonly string[] {
  try {
    compile(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("BRIDGE.CONFIG_INVALID");
    return (error as ConfigError).issues;
  }
  throw new Error("expected the routing file to be rejected");
}

describe("routing file validation", () => {
  it("compiles rules in order with resolved targets", () => {
    const table = compile({
      rules: [
        { name: "first", match: { source: "grafana" }, targets: [target(1)] },
        {
          name: "second",
          targets: [{ project_id: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", workspace_id: "ws-2", workflow_id: workflow(2), dataclass: { name: "Incident" } }],
          stop: true,
        },
      ],
    });

    expect(table.origin).toBe("routes.yaml");
    expect(table.rules.map((rule) => rule.name)).toEqual(["first", "second"]);
    expect(table.rules[0]!.targets).toEqual([
      {
        projectId: "0000000000000000000000000000e001",
        workspaceId: "11111111-2222-4333-8444-555555555555",
        workflowId: "aaaaaaaa-0000-4000-8000-000000000001",
        dataclass: { id: "00000000-0000-4000-8000-00000000d001", name: "Alert" },
      },
    ]);
    expect(table.rules[1]!.targets[0]).toEqual({
      projectId: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      workspaceId: "ws-2",
      workflowId: "aaaaaaaa-0000-4000-8000-000000000002",
      dataclass: { name: "Incident" },
    });
    expect(table.rules[1]!.stop).toBe(true);
    expect(table.defaultTargets).toEqual([DEFAULT_TARGET]);
  });

  it("default section replaces the environment default", () => {
    expect(compile({ default: { drop: true }, rules: [] }).defaultTargets).toEqual([]);
    expect(compile({ default: { targets: [target(9)] }, rules: [] }).defaultTargets.map((item) => item.workflowId)).toEqual([
      "aaaaaaaa-0000-4000-8000-000000000009",
    ]);
  });

  it("names the rule index, name and field", () => {
    const issues = issuesOf({
      rules: [
        { name: "ok", targets: [target(1)] },
        { name: "bad-severity", match: { min_severity: "Critical" }, targets: [target(2)] },
      ],
    });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^routes\.yaml: rules\[1\] \(name "bad-severity"\): match\.min_severity: /);
  });

  it("reports every issue at once", () => {
    const issues = issuesOf({
      rules: [
        { name: "a", match: { labels: { team: { regex: "(" } } }, targets: [target(1)] },
        { name: "b", targets: [{ workspace_id: "bad id", workflow_id: workflow(2) }] },
        { match: {}, targets: [target(3)] },
      ],
    });

    expect(issues).toHaveLength(3);
    expect(issues[0]).toMatch(/^routes\.yaml: rules\[0\] \(name "a"\): match\.labels\.team\.regex: /);
    expect(issues[0]).toContain("not a valid regular expression");
    expect(issues[1]).toMatch(/^routes\.yaml: rules\[1\] \(name "b"\): targets\[0\]\.workspace_id: must be 1 to 128/);
    expect(issues[2]).toMatch(/^routes\.yaml: rules\[2\] \(unnamed\): name: /);
  });

  it("checks later rules after an invalid one", () => {
    const issues = issuesOf({
      rules: [
        { name: "first", match: { min_severity: "Critical" }, drop: true, targets: [target(1)] },
        { name: "second", targets: [target(2)] },
        { name: "second", match: { fields: { "data_source.product": "x" } }, targets: [target(3), target(3)] },
      ],
    });

    expect(issues).toEqual([
      'routes.yaml: rules[0] (name "first"): match.min_severity: Invalid option: expected one of "Tips"|"Low"|"Medium"|"High"|"Fatal"',
      'routes.yaml: rules[0] (name "first"): drop: a rule that drops alerts cannot also list targets',
      'routes.yaml: rules[2] (name "second"): match.fields.data_source.product: data_source.product is not a field of the SecMaster Alert data class',
      'routes.yaml: rules[2] (name "second"): name: duplicates the name of rules[1]; give every rule its own name',
      'routes.yaml: rules[2] (name "second"): targets[1].workflow_id: lists workflow aaaaaaaa-0000-4000-8000-000000000003 twice',
    ]);
  });

  it("checks the valid parts of an invalid rule", () => {
    const issues = issuesOf({
      rules: [
        { name: "fire", targets: [target(1)] },
        {
          name: "close",
          match: { status: "resolved", min_severity: "Critical", fields: { "title.text": "x" } },
          targets: [{ workspace_id: "bad id", workflow_id: workflow(2) }, target(1)],
        },
      ],
    });

    expect(issues).toEqual([
      'routes.yaml: rules[1] (name "close"): match.min_severity: Invalid option: expected one of "Tips"|"Low"|"Medium"|"High"|"Fatal"',
      "routes.yaml: rules[1] (name \"close\"): targets[0].workspace_id: must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'",
      'routes.yaml: rules[1] (name "close"): match.fields.title.text: title holds a value, not an object, so text cannot follow it',
      'routes.yaml: rules[1] (name "close"): targets[1].workflow_id: workflow aaaaaaaa-0000-4000-8000-000000000001 also receives firing alerts from rule "fire", so a resolved alert would get the same action_instance_id as its firing episode and start nothing; route resolved alerts to a separate resolve workflow',
    ]);
  });

  it("puts file issues before rule issues", () => {
    const issues = issuesOf({ version: 2, rules: [{ name: "a", drop: "yes" }] });

    expect(issues).toEqual(["routes.yaml: version: Invalid input: expected 1", 'routes.yaml: rules[0] (name "a"): drop: Invalid input: expected boolean, received string']);
  });

  it("names an unnamed rule by index as the firing owner", () => {
    const issues = issuesOf({
      rules: [
        { match: { source: "grafana" }, targets: [target(1)] },
        { name: "close", match: { status: "resolved" }, targets: [target(1)] },
      ],
    });

    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^routes\.yaml: rules\[0\] \(unnamed\): name: /);
    expect(issues[1]).toContain("also receives firing alerts from rules[0], so");
  });

  it("rejects unknown keys", () => {
    const issues = issuesOf({ rules: [{ name: "typo", match: { severity: "High" }, targets: [target(1)] }] });

    expect(issues[0]).toMatch(/^routes\.yaml: rules\[0\] \(name "typo"\): match: /);
    expect(issues[0]).toContain("severity");
  });

  it("requires targets unless the rule drops", () => {
    expect(issuesOf({ rules: [{ name: "empty" }] })[0]).toBe(
      'routes.yaml: rules[0] (name "empty"): targets: is required unless the rule sets drop: true',
    );
    expect(issuesOf({ rules: [{ name: "both", drop: true, targets: [target(1)] }] })[0]).toBe(
      'routes.yaml: rules[0] (name "both"): drop: a rule that drops alerts cannot also list targets',
    );
  });

  it("rejects duplicate rule names and repeated workflows", () => {
    const issues = issuesOf({
      rules: [
        { name: "same", targets: [target(1)] },
        { name: "same", targets: [target(2), target(2)] },
      ],
    });

    expect(issues).toEqual([
      'routes.yaml: rules[1] (name "same"): name: duplicates the name of rules[0]; give every rule its own name',
      'routes.yaml: rules[1] (name "same"): targets[1].workflow_id: lists workflow aaaaaaaa-0000-4000-8000-000000000002 twice',
    ]);
  });

  it("rejects content paths outside the Alert", () => {
    const issues = issuesOf({
      rules: [{ name: "paths", match: { fields: { "data_source.product": "x", "title.text": "y" } }, targets: [target(1)] }],
    });

    expect(issues).toEqual([
      'routes.yaml: rules[0] (name "paths"): match.fields.data_source.product: data_source.product is not a field of the SecMaster Alert data class',
      'routes.yaml: rules[0] (name "paths"): match.fields.title.text: title holds a value, not an object, so text cannot follow it',
    ]);
  });

  it("accepts content paths through lists and free-form maps", () => {
    expect(checkAlertPath(["network_list", "src_ip"])).toBeUndefined();
    expect(checkAlertPath(["resource_list", "tags", "env"])).toBeUndefined();
    expect(checkAlertPath(["system_info", "any", "depth"])).toBeUndefined();
    expect(checkAlertPath(["environment", "project_id"])).toBeUndefined();
  });

  it("rejects a resolve workflow that also receives firing alerts", () => {
    const issues = issuesOf({
      rules: [
        { name: "fire", targets: [target(1)] },
        { name: "close", match: { status: "resolved" }, targets: [target(2), target(1)] },
      ],
    });

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^routes\.yaml: rules\[1\] \(name "close"\): targets\[1\]\.workflow_id: workflow aaaaaaaa-0000-4000-8000-000000000001 also receives firing alerts from rule "fire"/);
  });

  it("rejects resolving into the default workflow", () => {
    const issues = issuesOf({
      rules: [{ name: "close", match: { status: "resolved" }, targets: [{ workspace_id: "ws", workflow_id: "00000000-0000-4000-8000-00000000f001" }] }],
    });

    expect(issues[0]).toContain("also receives firing alerts from the SECMASTER_WORKFLOW_ID default");
  });

  it("rejects targets for both statuses in one rule", () => {
    const issues = issuesOf({ rules: [{ name: "both", match: { status: "any" }, targets: [target(1)] }] });

    expect(issues[0]).toMatch(/^routes\.yaml: rules\[0\] \(name "both"\): match\.status: a rule with targets cannot match both firing and resolved alerts/);
  });

  it("allows dropping alerts of both statuses", () => {
    const table = compile({ rules: [{ name: "quiet", match: { status: ["firing", "resolved"] }, drop: true }] });

    expect([...table.rules[0]!.statuses]).toEqual(["firing", "resolved"]);
  });

  it("rejects a file that is not a routing document", () => {
    expect(issuesOf(null)[0]).toMatch(/^routes\.yaml: \(body\): /);
    expect(issuesOf({ rules: [], version: 2 })[0]).toMatch(/^routes\.yaml: version: /);
  });
});

describe("routing file source ids", () => {
  const SOURCE_IDS = ["alertmanager", "grafana", "edge-fw"];

  function sourceIssuesOf(source: unknown): readonly string[] {
    try {
      compileRoutingFile({ rules: [{ name: "r", match: { source }, targets: [target(1)] }] }, { origin: "routes.yaml", defaultTarget: DEFAULT_TARGET, sourceIds: SOURCE_IDS });
    } catch (error) {
      expect((error as ConfigError).code).toBe("BRIDGE.CONFIG_INVALID");
      return (error as ConfigError).issues;
    }
    return [];
  }

  it("accepts built-in and generic ids", () => {
    expect(sourceIssuesOf(["alertmanager", "edge-fw"])).toEqual([]);
  });

  it("rejects an unknown id with the known ids", () => {
    expect(sourceIssuesOf("nosuchsource")).toEqual([
      'routes.yaml: rules[0] (name "r"): match.source: "nosuchsource" is not a known source id, so the rule never matches; known source ids: alertmanager, edge-fw, grafana; a generic source counts once its mapping is given (--mapping FILE or BRIDGE_GENERIC_MAPPINGS)',
    ]);
  });

  it("names the list entry of an unknown id", () => {
    const issues = sourceIssuesOf(["grafana", { exact: "grafna" }]);

    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^routes\.yaml: rules\[0\] \(name "r"\): match\.source\[1\]: "grafna" is not a known source id/);
  });

  it("rejects a glob or regex that matches no id", () => {
    expect(sourceIssuesOf({ glob: "aws-*" })[0]).toContain('match.source: glob "aws-*" matches no known source id');
    expect(sourceIssuesOf({ regex: "splunk|elastic" })[0]).toContain("match.source: regex /splunk|elastic/ matches no known source id");
  });

  it("accepts a glob that matches an id", () => {
    expect(sourceIssuesOf({ glob: "edge-*" })).toEqual([]);
    expect(sourceIssuesOf({ exists: true })).toEqual([]);
  });

  it("skips the check without source ids", () => {
    expect(compile({ rules: [{ name: "r", match: { source: "nosuchsource" }, targets: [target(1)] }] }).rules).toHaveLength(1);
  });
});

describe("routing file text", () => {
  it("parses YAML with the line of an error", () => {
    expect(parseConfigText("rules:\n  - name: a\n", "routes.yaml")).toEqual({ rules: [{ name: "a" }] });

    let caught: unknown;
    try {
      parseConfigText("rules:\n  - name: a\n   bad: [", "routes.yaml");
    } catch (error) {
      caught = error;
    }
    expect((caught as ConfigError).code).toBe("BRIDGE.CONFIG_INVALID");
    expect((caught as ConfigError).issues[0]).toMatch(/^routes\.yaml: invalid YAML: .*line 3/s);
  });

  it("rejects duplicate YAML keys", () => {
    expect(() => parseConfigText("rules: []\nrules: []\n", "routes.yaml")).toThrow(/Map keys must be unique/);
  });

  it("parses JSON by extension", () => {
    expect(parseConfigText('{"rules": []}', "routes.json")).toEqual({ rules: [] });
    expect(() => parseConfigText("rules: []", "routes.json")).toThrow(ConfigError);
  });
});
