import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// The run writes a few hundred error lines, and the level must be set before lib/logger creates
// the logger (see the queue-mode chaos test).
const savedLogLevel = vi.hoisted(() => {
  const saved = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "SILENT";
  return saved;
});
import type { LocalBridge } from "../../lib/local/bridge";
import { metrics } from "../../lib/metrics";
import { readJsonFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";

const DELIVERIES = 5;
const ALERTS_PER_DELIVERY = 20;
const MAX_SENDS = 40;
// Many responses are lost after the create is stored (accept-timeout), on posts and look-ups alike.
const FAULTS = "5xx=0.1,429=0.02,drop=0.05,accept-timeout=0.15";

// Short client timeouts, so that each lost response costs 300 ms and the run ends in about 20 s.
const CHAOS_ENV = {
  BRIDGE_MODE: "direct",
  SECMASTER_EMULATOR_FAULTS: FAULTS,
  SECMASTER_MAX_ATTEMPTS: "2",
  SECMASTER_ATTEMPT_TIMEOUT_MS: "300",
  SECMASTER_RETRY_BASE_DELAY_MS: "20",
  SECMASTER_TIMEOUT_MS: "3000",
};

interface AlertmanagerDelivery {
  alerts: { fingerprint: string; startsAt: string; labels: Record<string, string> }[];
}

/** Builds delivery `index` of the run: 20 firing alerts, each with its own fingerprint. */
function delivery(template: AlertmanagerDelivery, index: number): string {
  const alert = template.alerts[0]!;
  const alerts = Array.from({ length: ALERTS_PER_DELIVERY }, (_, offset) => {
    const n = index * ALERTS_PER_DELIVERY + offset;
    return { ...alert, fingerprint: `d1a05${n.toString(16).padStart(11, "0")}`, labels: { ...alert.labels, instance: `host-${n}.example.com:9100` } };
  });
  return JSON.stringify({ ...template, alerts });
}

describe("chaos run through direct mode", () => {
  let bridge: LocalBridge;

  beforeAll(async () => {
    // The run's metrics are not checked here; this keeps their lines out of the test output.
    vi.spyOn(metrics, "addMetric").mockImplementation(() => metrics);
    vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(() => metrics);
    bridge = await startTestBridge({ inMemoryStore: true, env: CHAOS_ENV });
  });

  afterAll(async () => {
    await bridge?.close();
    if (savedLogLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = savedLogLevel;
    vi.restoreAllMocks();
  });

  it("starts every alert once while senders retry", { timeout: 110_000 }, async () => {
    // Each sender repeats its delivery until the bridge returns 200, as Alertmanager does on a
    // 5xx. Every repeat after a lost response must find the stored instance instead of posting it.
    const template = readJsonFixture<AlertmanagerDelivery>("payloads/alertmanager-firing-group.json");
    const sendsPerDelivery: number[] = [];
    const started = new Set<string>();

    for (let index = 0; index < DELIVERIES; index++) {
      const body = delivery(template, index);
      let sends = 0;
      let status = 0;
      while (status !== 200 && sends < MAX_SENDS) {
        const answer = await postAlerts(bridge.url, "alertmanager", body);
        sends += 1;
        status = answer.status;
        expect([200, 502]).toContain(status);
        if (status === 200) {
          for (const result of answer.json.results as { action_instance_id: string; status: string }[]) {
            expect(["created", "duplicate"]).toContain(result.status);
            started.add(result.action_instance_id);
          }
        }
      }
      expect(status).toBe(200);
      sendsPerDelivery.push(sends);
    }

    const instancesById = new Map<string, number>();
    for (const instance of bridge.emulator!.instances()) {
      instancesById.set(instance.instance_id, (instancesById.get(instance.instance_id) ?? 0) + 1);
    }
    const stats = bridge.emulator!.stats();
    process.stdout.write(`direct chaos counts: ${JSON.stringify({ sendsPerDelivery, instances: instancesById.size, stats })}\n`);

    expect(started.size).toBe(DELIVERIES * ALERTS_PER_DELIVERY);
    expect([...instancesById.keys()].sort()).toEqual([...started].sort());
    expect([...instancesById.values()].filter((count) => count > 1)).toEqual([]);
    // No post reached SecMaster for an instance it already had.
    expect(stats.duplicateAttempts).toBe(0);
    expect(stats.faultsInjected.acceptTimeout).toBeGreaterThan(0);
  });
});
