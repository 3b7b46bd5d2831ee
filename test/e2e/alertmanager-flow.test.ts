import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { readFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

const FIRING_GROUP = readFixture("payloads/alertmanager-firing-group.json");

describe("local bridge with the emulator", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("creates one instance per alert, then reports duplicates", async () => {
    const first = await postAlerts(bridge.url, "alertmanager", FIRING_GROUP);

    expect(first.status).toBe(200);
    expect(first.json.results.map((result: { status: string }) => result.status)).toEqual(["created", "created", "created"]);
    const instances = bridge.emulator!.instances();
    expect(instances).toHaveLength(3);
    expect(new Set(instances.map((instance) => (instance.request as { action_instance_id: string }).action_instance_id))).toEqual(
      new Set(first.json.results.map((result: { action_instance_id: string }) => result.action_instance_id)),
    );
    expect(bridge.emulator!.stats().authFailures).toBe(0);

    const second = await postAlerts(bridge.url, "alertmanager", FIRING_GROUP);

    expect(second.status).toBe(200);
    expect(second.json.results.map((result: { status: string }) => result.status)).toEqual(["duplicate", "duplicate", "duplicate"]);
    expect(bridge.emulator!.instances()).toHaveLength(3);
  });

  it("sends the workflow and data class in each instance", () => {
    const stored = bridge.emulator!.instances()[0]!;
    const request = stored.request as {
      action_id: string;
      command_type: string;
      playbook_context: { data_object: { dataclass: { name: string }; content: { title: string; severity: string } } };
    };

    expect(stored.workflow_id).toBe("00000000-0000-4000-8000-00000000f001");
    expect(request.action_id).toBe("00000000-0000-4000-8000-00000000f001");
    expect(request.command_type).toBe("ActionInstanceRunCommand");
    expect(request.playbook_context.data_object.dataclass.name).toBe("Alert");
    expect(request.playbook_context.data_object.content.severity).toBe("Fatal");
  });

  it("creates each instance once under ten concurrent posts", async () => {
    bridge.emulator!.reset();
    const body = readFixture("payloads/alertmanager-firing-unicode.json");

    const answers = await Promise.all(Array.from({ length: 10 }, () => postAlerts(bridge.url, "alertmanager", body)));

    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    const created = answers.flatMap((answer) => answer.json.results).filter((result: { status: string }) => result.status === "created");
    const alertsPerDelivery = answers[0]!.json.results.length as number;
    expect(created).toHaveLength(alertsPerDelivery);
    expect(bridge.emulator!.instances()).toHaveLength(alertsPerDelivery);
  });

  it("creates the alert once after two 429 answers", async () => {
    bridge.emulator!.reset();
    bridge.emulator!.setFaults({ script: ["429", "429"] });
    const group = JSON.parse(FIRING_GROUP);
    group.alerts = [{ ...group.alerts[0], startsAt: "2024-05-15T09:00:00Z" }];
    const body = JSON.stringify(group);

    const answer = await postAlerts(bridge.url, "alertmanager", body);

    expect(answer.status).toBe(200);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["created"]);
    expect(bridge.emulator!.stats().faultsInjected["429"]).toBe(2);
    expect(bridge.emulator!.instances()).toHaveLength(1);
  });

  it("skips resolved alerts without starting anything", async () => {
    bridge.emulator!.reset();

    const answer = await postAlerts(bridge.url, "alertmanager", readFixture("payloads/alertmanager-resolved.json"));

    expect(answer.status).toBe(200);
    expect(answer.json.results.every((result: { status: string }) => result.status === "skipped")).toBe(true);
    expect(bridge.emulator!.instances()).toHaveLength(0);
  });
});
