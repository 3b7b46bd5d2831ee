import { describe, expect, it } from "vitest";
import { compileRoutingFile } from "../../lib/routing/compile";
import { routeAlert } from "../../lib/routing/match";
import { alert, DEFAULT_TARGET, target } from "./helpers";

function table(rules: unknown[], extra: Record<string, unknown> = {}) {
  return compileRoutingFile({ rules, ...extra }, { origin: "routes.yaml", defaultTarget: DEFAULT_TARGET });
}

function workflowsOf(decision: ReturnType<typeof routeAlert>): string[] {
  return decision.targets.map((routed) => routed.target.workflowId.slice(-2));
}

describe("routing rules", () => {
  it("unmatched firing alert goes to the default", () => {
    const decision = routeAlert(alert(), table([{ name: "grafana", match: { source: "grafana" }, targets: [target(1)] }]));

    expect(decision.usedDefault).toBe(true);
    expect(decision.targets).toEqual([{ target: DEFAULT_TARGET, rule: undefined }]);
    expect(decision.trace).toEqual([
      { index: 0, rule: "grafana", outcome: "not matched", details: ["status is firing", 'source is "alertmanager", not matching "grafana"'] },
    ]);
  });

  it("every matching rule adds targets in order", () => {
    const rules = table([
      { name: "a", match: { source: "alertmanager" }, targets: [target(1), target(2)] },
      { name: "b", match: { source: "grafana" }, targets: [target(3)] },
      { name: "c", targets: [target(4), target(1)] },
    ]);

    const decision = routeAlert(alert(), rules);

    expect(workflowsOf(decision)).toEqual(["01", "02", "04"]);
    expect(decision.targets.map((routed) => routed.rule)).toEqual(["a", "a", "c"]);
    expect(decision.usedDefault).toBe(false);
  });

  it("stop ends evaluation after a match", () => {
    const rules = table([
      { name: "a", match: { source: "grafana" }, targets: [target(1)], stop: true },
      { name: "b", targets: [target(2)], stop: true },
      { name: "c", targets: [target(3)] },
    ]);

    const decision = routeAlert(alert(), rules);

    expect(workflowsOf(decision)).toEqual(["02"]);
    expect(decision.trace.map((entry) => entry.outcome)).toEqual(["not matched", "matched", "not evaluated"]);
    expect(decision.trace[2]!.details).toEqual(['rule "b" matched and has stop: true']);
  });

  it("drop discards earlier targets", () => {
    const rules = table([
      { name: "a", targets: [target(1)] },
      { name: "quiet", match: { labels: { alertname: { glob: "Watchdog*" } } }, drop: true },
      { name: "c", targets: [target(3)] },
    ]);

    const decision = routeAlert(alert({ content: { labels: "alertname=WatchdogHeartbeat,team=ops" } }), rules);

    expect(decision.droppedBy).toBe("quiet");
    expect(decision.targets).toEqual([]);
    expect(decision.trace.map((entry) => entry.outcome)).toEqual(["matched", "matched", "not evaluated"]);
  });

  it("default drop leaves unmatched alerts without targets", () => {
    const decision = routeAlert(alert(), table([], { default: { drop: true } }));

    expect(decision.targets).toEqual([]);
    expect(decision.usedDefault).toBe(true);
  });

  it("rules take firing alerts unless they ask for resolved ones", () => {
    const rules = table([
      { name: "fire", targets: [target(1)] },
      { name: "close", match: { status: "resolved" }, targets: [target(2)] },
    ]);

    const firing = routeAlert(alert(), rules);
    const resolved = routeAlert(alert({ status: "resolved" }), rules);

    expect(workflowsOf(firing)).toEqual(["01"]);
    expect(workflowsOf(resolved)).toEqual(["02"]);
    expect(resolved.trace[0]!.details).toEqual(["status is resolved; the rule takes firing alerts"]);
  });

  it("resolved alert without a resolve rule goes nowhere", () => {
    const decision = routeAlert(alert({ status: "resolved" }), table([]));

    expect(decision.targets).toEqual([]);
    expect(decision.usedDefault).toBe(false);
  });

  it("minimum severity", () => {
    const rules = table([{ name: "high", match: { min_severity: "High" }, targets: [target(1)] }]);
    const cases = [
      ["Tips", false],
      ["Medium", false],
      ["High", true],
      ["Fatal", true],
    ] as const;

    for (const [severity, expected] of cases) {
      const decision = routeAlert(alert({ content: { severity } }), rules);
      expect(decision.usedDefault, severity).toBe(!expected);
    }
    const missing = routeAlert(alert({ content: { severity: undefined } }), rules);
    expect(missing.trace[0]!.details).toEqual(["status is firing", "severity is missing"]);
    expect(routeAlert(alert({ content: { severity: "Low" } }), rules).trace[0]!.details[1]).toBe("severity Low is below High");
  });

  it("alert type by pattern or by field", () => {
    const rules = table([
      { name: "type", match: { alert_type: { glob: "brute*" } }, targets: [target(1)] },
      { name: "category", match: { alert_type: { category: "network", alert_type: { exists: false } } }, targets: [target(2)] },
    ]);

    expect(workflowsOf(routeAlert(alert({ content: { alert_type: { category: "host", alert_type: "bruteforce" } } }), rules))).toEqual(["01"]);
    expect(workflowsOf(routeAlert(alert({ content: { alert_type: { category: "network" } } }), rules))).toEqual(["02"]);
    expect(routeAlert(alert({ content: {} }), rules).usedDefault).toBe(true);
  });

  it("labels from the labels string and resource tags", () => {
    const rules = table([
      { name: "team", match: { labels: { team: "secops" } }, targets: [target(1)] },
      { name: "env", match: { labels: { env: { regex: "prod|staging" } } }, targets: [target(2)] },
      { name: "no-owner", match: { labels: { owner: { exists: false } } }, targets: [target(3)] },
    ]);
    const content = {
      labels: "alertname=SshAuthFailuresHigh, team=secops,url=https://x.example/?a=b",
      resource_list: [{ name: "web-01", tags: { env: "prod" } }],
    };

    expect(workflowsOf(routeAlert(alert({ content }), rules))).toEqual(["01", "02", "03"]);
    expect(routeAlert(alert({ content: { labels: "team=ops,owner=kim" } }), rules).usedDefault).toBe(true);
  });

  it("label value keeps text after the first equals sign", () => {
    const rules = table([{ name: "url", match: { labels: { url: "https://x.example/?a=b" } }, targets: [target(1)] }]);

    expect(workflowsOf(routeAlert(alert({ content: { labels: "url=https://x.example/?a=b" } }), rules))).toEqual(["01"]);
  });

  it("tags match whole label entries", () => {
    const rules = table([{ name: "prod", match: { tags: ["env:prod", { glob: "team=sec*" }] }, targets: [target(1)] }]);

    expect(routeAlert(alert({ content: { labels: "host:web-01,env:prod" } }), rules).usedDefault).toBe(false);
    expect(routeAlert(alert({ content: { labels: "team=secops" } }), rules).usedDefault).toBe(false);
    expect(routeAlert(alert({ content: { labels: "env:production" } }), rules).usedDefault).toBe(true);
  });

  it("content fields search lists and stringify numbers", () => {
    const rules = table([
      { name: "ip", match: { fields: { "network_list.src_ip": { glob: "198.51.100.*" } } }, targets: [target(1)] },
      { name: "count", match: { fields: { count: "5", "data_source.product_name": "Prometheus" } }, targets: [target(2)] },
    ]);
    const content = {
      count: 5,
      data_source: { product_name: "Prometheus" },
      network_list: [{ src_ip: "203.0.113.7" }, { src_ip: "198.51.100.23" }],
    };

    expect(workflowsOf(routeAlert(alert({ content }), rules))).toEqual(["01", "02"]);
    expect(routeAlert(alert({ content: { count: 4 } }), rules).trace[1]!.details).toEqual([
      "status is firing",
      'fields.count is "4", not matching "5"',
      "fields.data_source.product_name is missing, not matching \"Prometheus\"",
    ]);
  });

  it("source list", () => {
    const rules = table([{ name: "aws", match: { source: ["guardduty", { glob: "security*" }] }, targets: [target(1)] }]);

    expect(routeAlert(alert({ source: "securityhub" }), rules).usedDefault).toBe(false);
    expect(routeAlert(alert({ source: "guardduty" }), rules).usedDefault).toBe(false);
    expect(routeAlert(alert({ source: "grafana" }), rules).usedDefault).toBe(true);
  });

  it("all conditions of a rule must hold", () => {
    const rules = table([{ name: "both", match: { source: "alertmanager", min_severity: "Fatal" }, targets: [target(1)] }]);

    const decision = routeAlert(alert(), rules);

    expect(decision.usedDefault).toBe(true);
    expect(decision.trace[0]!.details).toEqual(["status is firing", 'source is "alertmanager", matching "alertmanager"', "severity High is below Fatal"]);
  });
});
