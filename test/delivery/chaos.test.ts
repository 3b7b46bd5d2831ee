import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// The run writes about 2,000 log lines. The level must be set before lib/logger creates the
// logger, because the Powertools injectLambdaContext middleware (logger 2.35) resets the level to
// the initial one on every warm invocation, which undoes logger.setLogLevel.
const savedLogLevel = vi.hoisted(() => {
  const saved = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "SILENT";
  return saved;
});
import { redriveCommand } from "../../lib/cli/queue";
import { decodeEnvelope, type JobEnvelope } from "../../lib/delivery/queue";
import type { LocalBridge } from "../../lib/local/bridge";
import { metrics } from "../../lib/metrics";
import { readJsonFixture } from "../helpers/fixtures";
import { postAlerts, startTestBridge } from "../helpers/local-bridge";
import { waitFor } from "./harness";

const ALERTS = 1_000;
const ALERTS_PER_DELIVERY = 50;
const FAULTS = "5xx=0.2,429=0.1,drop=0.05,accept-timeout=0.02";

// Short client timeouts and backoffs so that a run with these fault rates finishes in about
// 30 s on 2 cores. The emulator's 429 responses still make the client wait their Retry-After of 1 s.
const CHAOS_ENV = {
  BRIDGE_MODE: "queue",
  SECMASTER_EMULATOR_FAULTS: FAULTS,
  SECMASTER_MAX_ATTEMPTS: "2",
  SECMASTER_ATTEMPT_TIMEOUT_MS: "300",
  SECMASTER_RETRY_BASE_DELAY_MS: "20",
  SECMASTER_TIMEOUT_MS: "5000",
  BRIDGE_MAX_RECEIVES: "2",
  BRIDGE_RETRY_BASE_DELAY_MS: "100",
  BRIDGE_RETRY_MAX_DELAY_MS: "1000",
  BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS: "20",
  BRIDGE_DISPATCH_EARLY_TIMEOUT_MS: "2000",
  BRIDGE_DISPATCH_BATCH_SIZE: "10",
  BRIDGE_DISPATCH_CONCURRENCY: "10",
};

interface AlertmanagerDelivery {
  alerts: { fingerprint: string; startsAt: string; labels: Record<string, string> }[];
}

/** Builds delivery `index` of the run: 50 firing alerts, each with its own fingerprint. */
function delivery(template: AlertmanagerDelivery, index: number): string {
  const alert = template.alerts[0]!;
  const alerts = Array.from({ length: ALERTS_PER_DELIVERY }, (_, offset) => {
    const n = index * ALERTS_PER_DELIVERY + offset;
    return { ...alert, fingerprint: `c4a05${n.toString(16).padStart(11, "0")}`, labels: { ...alert.labels, instance: `host-${n}.example.com:9100` } };
  });
  return JSON.stringify({ ...template, alerts });
}

describe("chaos run through queue mode", () => {
  let bridge: LocalBridge;
  const metricTotals = new Map<string, number>();

  beforeAll(async () => {
    vi.spyOn(metrics, "addMetric").mockImplementation((name, _unit, value) => {
      metricTotals.set(name, (metricTotals.get(name) ?? 0) + value);
      return metrics;
    });
    // The spy above keeps every metric, so there is nothing to publish, and publishing an empty
    // set would print a Powertools warning after every invocation.
    vi.spyOn(metrics, "publishStoredMetrics").mockImplementation(() => metrics);
    bridge = await startTestBridge({ inMemoryStore: true, dispatchParallelism: 8, env: CHAOS_ENV });
  });

  afterAll(async () => {
    await bridge?.close();
    if (savedLogLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = savedLogLevel;
    vi.restoreAllMocks();
  });

  it("ends every alert as one instance or one dead letter", { timeout: 110_000 }, async () => {
    const template = readJsonFixture<AlertmanagerDelivery>("payloads/alertmanager-firing-group.json");
    const startedMs = Date.now();

    const accepted: string[] = [];
    for (let index = 0; index < ALERTS / ALERTS_PER_DELIVERY; index++) {
      const answer = await postAlerts(bridge.url, "alertmanager", delivery(template, index));
      expect(answer.status).toBe(202);
      for (const result of answer.json.results as { action_instance_id: string; status: string }[]) {
        expect(result.status).toBe("accepted");
        accepted.push(result.action_instance_id);
      }
    }
    await waitFor(() => bridge.queue!.size() === 0, 100_000, "the jobs queue to drain");
    const elapsedMs = Date.now() - startedMs;

    const instancesById = new Map<string, number>();
    for (const instance of bridge.emulator!.instances()) {
      instancesById.set(instance.instance_id, (instancesById.get(instance.instance_id) ?? 0) + 1);
    }
    // Visibility 0 leaves the dead letters visible for the redrive below.
    const deadLetters = (await bridge.deadLetters!.receive({ maxMessages: ALERTS, visibilityTimeoutMs: 0 })).map(
      (message): JobEnvelope => decodeEnvelope(message.body),
    );
    const deadById = new Map(deadLetters.map((envelope) => [envelope.job.actionInstanceId, envelope]));
    const lost = accepted.filter((id) => !instancesById.has(id) && !deadById.has(id));
    const duplicated = [...instancesById].filter(([, count]) => count > 1);
    const deadWithInstance = deadLetters.filter((envelope) => instancesById.has(envelope.job.actionInstanceId));
    const stats = bridge.emulator!.stats();

    const counts = {
      alerts: accepted.length,
      instances: instancesById.size,
      deadLettered: deadLetters.length,
      deadLetteredWithInstance: deadWithInstance.length,
      lost: lost.length,
      duplicateInstances: duplicated.length,
      duplicatePosts: stats.duplicateAttempts,
      secmasterRequests: stats.requests,
      faultsInjected: stats.faultsInjected,
      metrics: Object.fromEntries(metricTotals),
      elapsedMs,
    };
    process.stdout.write(`chaos run counts: ${JSON.stringify(counts)}\n`);

    expect(new Set(accepted).size).toBe(ALERTS);
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    // No post ever reached SecMaster for an instance it already had.
    expect(stats.duplicateAttempts).toBe(0);
    expect(instancesById.size + deadLetters.length - deadWithInstance.length).toBe(ALERTS);
    for (const envelope of deadLetters) {
      expect(envelope.lastError?.code).toMatch(/^(SecMaster|APIG|BRIDGE)\./);
      expect(envelope.lastError?.reason).not.toBe("");
    }
    // A job can be both dead-lettered and started only when its last post got no response.
    for (const envelope of deadWithInstance) expect(envelope.lastError?.ambiguous).toBe(true);
    expect(stats.faultsInjected["429"]).toBeGreaterThan(0);
    expect(stats.faultsInjected.acceptTimeout).toBeGreaterThan(0);
  });

  it("starts every dead letter once after a redrive", { timeout: 60_000 }, async () => {
    bridge.emulator!.setFaults({});
    const deadBefore = bridge.deadLetters!.size();
    const output: string[] = [];
    const io = { out: { write: (text: string) => output.push(text) }, err: { write: (text: string) => output.push(text) } };
    // The command opens the data folder on its own, as it would from another shell.
    const dataDir = dirname(dirname(bridge.queue!.name));

    const exitCode = await redriveCommand(["--data-dir", dataDir], io as never, {});
    // approximateCount reads the folder, so it counts the jobs the command added.
    await waitFor(async () => (await bridge.queue!.approximateCount()) === 0, 50_000, "the redriven jobs to be dispatched");

    const ids = bridge.emulator!.instances().map((instance) => instance.instance_id);
    process.stdout.write(`after redrive: ${JSON.stringify({ redriven: deadBefore, instances: ids.length, duplicatePosts: bridge.emulator!.stats().duplicateAttempts })}\n`);
    expect(exitCode).toBe(0);
    expect(output.join("")).toContain(`moved ${deadBefore} dead-lettered ${deadBefore === 1 ? "job" : "jobs"} back to`);
    expect(await bridge.deadLetters!.approximateCount()).toBe(0);
    expect(ids).toHaveLength(ALERTS);
    expect(new Set(ids).size).toBe(ALERTS);
    expect(bridge.emulator!.stats().duplicateAttempts).toBe(0);
  });
});
