import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalBridge } from "../../lib/local/bridge";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { captureLogOutput } from "../helpers/log-capture";

/** Runs `action` and returns its result with everything written to stdout and stderr meanwhile. */
async function captureOutput<T>(action: () => Promise<T>): Promise<{ result: T; output: string }> {
  const logs = captureLogOutput();
  try {
    return { result: await action(), output: logs.text() };
  } finally {
    logs.restore();
  }
}

describe("metrics of a rejected delivery", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("publishes DeliveriesRejected and no warning line", async () => {
    const { result: answer, output } = await captureOutput(() => postAlerts(bridge.url, "alertmanager", "{not json"));

    expect(answer.status).toBe(400);
    expect(output).not.toContain("No application metrics to publish");
    expect(output).toContain('"DeliveriesRejected"');
  });
});

describe("metrics of an empty delivery", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_GENERIC_MAPPINGS: "test/fixtures/payloads/generic-mapping-config.json" } });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it("writes no empty-metrics warning", async () => {
    const { result: answer, output } = await captureOutput(() => postAlerts(bridge.url, "custom-idp", "[]"));

    expect(answer.status).toBe(200);
    expect(output).toContain('"delivery processed"');
    expect(output).not.toContain("No application metrics to publish");
  });
});
