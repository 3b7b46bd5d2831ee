import { describe, expect, it } from "vitest";
import { planDelivery } from "../../lib/ingest";
import { compileRoutingFile } from "../../lib/routing/compile";
import { readRoutingFile } from "../../lib/routing/load";
import { BUILT_IN_SOURCES } from "../../lib/sources/index";
import { readJsonFixture } from "../helpers/fixtures";
import { DEFAULT_TARGET } from "./helpers";

const ROUTES = readRoutingFile("test/fixtures/routing/routes.yaml", DEFAULT_TARGET);
const RECEIVED_AT = new Date("2024-05-14T08:10:00.000Z");

function plan(fixture: string, routes = ROUTES) {
  return planDelivery(
    { adapter: BUILT_IN_SOURCES.alertmanager!, body: readJsonFixture(fixture), receivedAt: RECEIVED_AT },
    { target: DEFAULT_TARGET, routes, defaultSeverity: "Medium" },
  );
}

describe("planDelivery with routing", () => {
  it("plans one job per alert and workflow", () => {
    const plans = plan("payloads/alertmanager-firing-group.json");

    expect(plans.map((item) => [item.job.alertKey, item.job.workflowId, item.rule, item.skipReason])).toEqual([
      ["5b0f5b2d5f635dca", "aaaaaaaa-0000-4000-8000-000000000001", "secops-critical", undefined],
      ["5b0f5b2d5f635dca", "aaaaaaaa-0000-4000-8000-000000000002", "secops-critical", undefined],
      ["7b47d28377620826", "aaaaaaaa-0000-4000-8000-000000000001", "secops-critical", undefined],
      ["7b47d28377620826", "aaaaaaaa-0000-4000-8000-000000000002", "secops-critical", undefined],
      ["f92e2c86f9923074", "aaaaaaaa-0000-4000-8000-000000000003", "edge-clusters", undefined],
    ]);
  });

  it("copies each target's ids and data class into the job", () => {
    const [first, second] = plan("payloads/alertmanager-firing-group.json");

    expect(first!.job).toMatchObject({
      actionInstanceId: "a6ab440e-d68e-56ea-929c-35911696c1f5",
      projectId: "0000000000000000000000000000e001",
      workspaceId: "11111111-2222-4333-8444-555555555555",
      dataclass: { id: "dddddddd-0000-4000-8000-000000000001", name: "Alert" },
    });
    expect(second!.job.actionInstanceId).toBe("0d70328d-169f-57bb-b973-45c41b21203a");
    expect(second!.job.dataclass).toEqual({ id: "00000000-0000-4000-8000-00000000d001", name: "Alert" });
  });

  it("resolved alert starts the resolve workflow under its own id", () => {
    const [resolved] = plan("payloads/alertmanager-resolved.json");

    expect(resolved!.skipReason).toBeUndefined();
    expect(resolved!.rule).toBe("close-resolved");
    expect(resolved!.job.workflowId).toBe("aaaaaaaa-0000-4000-8000-000000000004");
    // Same source, key and episode as the firing alert of the first test; only the workflow differs.
    expect(resolved!.job.actionInstanceId).toBe("0ae7203c-e925-5295-807b-3363532ec348");
    expect(resolved!.job.actionInstanceId).not.toBe("a6ab440e-d68e-56ea-929c-35911696c1f5");
  });

  it("dropped alert is skipped with the rule name", () => {
    const body = readJsonFixture<{ alerts: { labels: Record<string, string> }[] }>("payloads/alertmanager-firing-group.json");
    body.alerts[0]!.labels.alertname = "WatchdogHeartbeat";
    const plans = planDelivery(
      { adapter: BUILT_IN_SOURCES.alertmanager!, body, receivedAt: RECEIVED_AT },
      { target: DEFAULT_TARGET, routes: ROUTES, defaultSeverity: "Medium" },
    );

    expect(plans).toHaveLength(4);
    expect(plans[0]!.skipReason).toBe('dropped by routing rule "drop-watchdog"');
    expect(plans[0]!.job.workflowId).toBe("00000000-0000-4000-8000-00000000f001");
  });

  it("resolved alert without a resolve rule is skipped", () => {
    const [resolved] = plan("payloads/alertmanager-resolved.json", compileRoutingFile({ rules: [] }, { origin: "inline", defaultTarget: DEFAULT_TARGET }));

    expect(resolved!.skipReason).toBe("alert is resolved and no routing rule sends resolved alerts to a resolve workflow");
  });

  it("default drop skips unmatched alerts", () => {
    const routes = compileRoutingFile({ default: { drop: true }, rules: [] }, { origin: "inline", defaultTarget: DEFAULT_TARGET });

    const plans = plan("payloads/alertmanager-firing-group.json", routes);

    expect(plans.map((item) => item.skipReason)).toEqual(Array(3).fill("no routing rule matched and the routing file's default drops unmatched alerts"));
  });

  it("without routes every firing alert goes to the default target", () => {
    const plans = planDelivery(
      { adapter: BUILT_IN_SOURCES.alertmanager!, body: readJsonFixture("payloads/alertmanager-firing-group.json"), receivedAt: RECEIVED_AT },
      { target: DEFAULT_TARGET, defaultSeverity: "Medium" },
    );

    expect(plans.map((item) => item.job.workflowId)).toEqual(Array(3).fill("00000000-0000-4000-8000-00000000f001"));
    expect(plans.map((item) => item.rule)).toEqual([undefined, undefined, undefined]);
  });
});
