import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import type { RunningEmulator } from "../../lib/local/emulator";
import { readFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { startRoutingEmulator } from "../helpers/routing-emulator";

type Result = { action_instance_id: string; workflow_id: string; status: string; reason?: string };

describe("local bridge with routing rules and schedules", () => {
  let emulator: RunningEmulator;
  let bridge: LocalBridge;

  beforeAll(async () => {
    const started = await startRoutingEmulator();
    emulator = started.emulator;
    bridge = await startTestBridge({
      env: {
        ...started.env,
        BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.yaml",
        BRIDGE_SCHEDULES_FILE: "test/fixtures/schedule/schedules.yaml",
      },
    });
  });
  beforeEach(() => {
    emulator.reset();
  });
  afterAll(async () => {
    await bridge.close();
    await emulator.close();
  });

  it("fans alerts out to the workflows of their rules", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", readFixture("payloads/alertmanager-firing-group.json"));

    expect(answer.status).toBe(200);
    const results = answer.json.results as Result[];
    expect(results.map((result) => [result.workflow_id, result.status])).toEqual([
      ["aaaaaaaa-0000-4000-8000-000000000001", "created"],
      ["aaaaaaaa-0000-4000-8000-000000000002", "created"],
      ["aaaaaaaa-0000-4000-8000-000000000001", "created"],
      ["aaaaaaaa-0000-4000-8000-000000000002", "created"],
      ["aaaaaaaa-0000-4000-8000-000000000003", "created"],
    ]);
    expect(emulator.instances().map((instance) => instance.workflow_id).sort()).toEqual([
      "aaaaaaaa-0000-4000-8000-000000000001",
      "aaaaaaaa-0000-4000-8000-000000000001",
      "aaaaaaaa-0000-4000-8000-000000000002",
      "aaaaaaaa-0000-4000-8000-000000000002",
      "aaaaaaaa-0000-4000-8000-000000000003",
    ]);
    const stored = emulator.instances().find((instance) => instance.workflow_id === "aaaaaaaa-0000-4000-8000-000000000001")!;
    expect((stored.request as { playbook_context: { data_object: { dataclass: unknown } } }).playbook_context.data_object.dataclass).toEqual({
      id: "dddddddd-0000-4000-8000-000000000001",
      name: "Alert",
    });
  });

  it("starts the resolve workflow for a resolved alert", async () => {
    const answer = await postAlerts(bridge.url, "alertmanager", readFixture("payloads/alertmanager-resolved.json"));

    expect(answer.status).toBe(200);
    expect(answer.json.results).toEqual([
      { action_instance_id: "0ae7203c-e925-5295-807b-3363532ec348", workflow_id: "aaaaaaaa-0000-4000-8000-000000000004", status: "created" },
    ]);
    expect(emulator.instances()).toHaveLength(1);
  });

  it("reports dropped alerts as skipped with the rule", async () => {
    const body = JSON.parse(readFixture("payloads/alertmanager-firing-group.json")) as { alerts: { labels: Record<string, string> }[] };
    body.alerts = body.alerts.slice(0, 1);
    body.alerts[0]!.labels.alertname = "Watchdog";

    const answer = await postAlerts(bridge.url, "alertmanager", JSON.stringify(body));

    expect(answer.status).toBe(200);
    expect((answer.json.results as Result[]).map((result) => [result.status, result.reason])).toEqual([["skipped", 'dropped by routing rule "drop-watchdog"']]);
    expect(emulator.instances()).toHaveLength(0);
  });

  it("fires due schedules through the schedule handler once", async () => {
    const inAnHour = new Date(Date.now() + 3_600_000);

    const results = await bridge.scheduler!.runDue(inAnHour);
    const again = await bridge.scheduler!.runDue(inAnHour);

    expect(results.filter((result) => result.schedule === "hourly-sweep")).toHaveLength(1);
    expect(results.every((result) => result.status === "created")).toBe(true);
    expect(results.some((result) => result.schedule === "paused")).toBe(false);
    expect(again).toEqual([]);
    expect(emulator.instances()).toHaveLength(results.length);
    expect(emulator.instances().map((instance) => instance.workflow_id)).toContain("aaaaaaaa-0000-4000-8000-000000000005");
  });
});
