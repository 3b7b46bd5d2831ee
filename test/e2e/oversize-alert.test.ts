import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { readJsonFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { captureLogOutput, type LogCapture } from "../helpers/log-capture";

interface AlertmanagerGroup {
  alerts: { annotations: Record<string, string>; generatorURL?: string; fingerprint: string }[];
}

/** The fixture cut to its first two alerts, with the first one changed by `change`. */
function twoAlerts(change: (alert: AlertmanagerGroup["alerts"][number]) => void): string {
  const group = readJsonFixture<AlertmanagerGroup>("payloads/alertmanager-firing-group.json");
  group.alerts = group.alerts.slice(0, 2);
  change(group.alerts[0]!);
  return JSON.stringify(group);
}

describe("over-size alert in queue mode", () => {
  let bridge: LocalBridge;
  let logs: LogCapture;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_MODE: "queue" } });
    logs = captureLogOutput();
  });
  afterAll(async () => {
    logs.restore();
    await bridge.close();
  });

  it("starts the alert with its description truncated", async () => {
    const body = twoAlerts((alert) => {
      alert.annotations.description = "D".repeat(300_000);
    });

    const answer = await postAlerts(bridge.url, "alertmanager", body);

    expect(answer.status).toBe(202);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["accepted", "accepted"]);
    expect(answer.json.results[0].reason).toMatch(/^description shortened by \d+ bytes to fit a queue message$/);
    await expect.poll(() => bridge.emulator!.instances().length, { timeout: 10_000 }).toBe(2);
    const started = bridge.emulator!.instances().find((instance) => instance.instance_id === answer.json.results[0].action_instance_id)!;
    const content = (started.request as { playbook_context: { data_object: { content: Record<string, string> } } }).playbook_context.data_object.content;
    expect(content.description).toMatch(/^D{250000,}… \[truncated \d+ bytes\]$/);
    expect(content.title).toBe("SSH auth failures high on bastion-01.example.com");
    expect(content.severity).toBe("Fatal");
    expect(logs.text()).toMatch(/"message":"alert text truncated to fit a queue message".*"alertKey":"[^"]*5b0f5b2d5f635dca[^"]*".*"removedBytes":\d+/);
  });

  it("answers 422 naming the field when truncation cannot help", async () => {
    const body = twoAlerts((alert) => {
      alert.generatorURL = `https://prometheus.example.com/graph?g0.expr=${"x".repeat(300_000)}`;
    });

    const answer = await postAlerts(bridge.url, "alertmanager", body);

    expect(answer.status).toBe(422);
    expect(answer.contentType).toBe("application/problem+json");
    expect(answer.json.code).toBe("BRIDGE.JOB_TOO_LARGE");
    expect(answer.json.field).toBe("source_url");
    expect(answer.json.fix).toMatch(/source_url/);
    expect(answer.json.results.map((result: { status: string }) => result.status)).toEqual(["failed", "accepted"]);
    expect(answer.json.results[0].code).toBe("BRIDGE.JOB_TOO_LARGE");
  });
});
