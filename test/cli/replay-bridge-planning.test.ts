import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { replayCommand } from "../../lib/cli/queue";
import type { LocalBridge } from "../../lib/local/bridge";
import { captureCliOutput } from "../helpers/cli-output";
import { readFixture } from "../helpers/fixtures";
import { captureLogOutput } from "../helpers/log-capture";
import { startTestBridge } from "../helpers/local-bridge";

// A workflow id other than the emulator's default one, which the bridge below serves.
const BRIDGE_WORKFLOW_ID = "00000000-0000-4000-8000-0000000000b7";

describe("replay planning with a running local bridge", () => {
  let bridge: LocalBridge | undefined;
  let workDir: string;

  beforeEach(() => {
    workDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-replay-planning-"));
  });
  afterEach(async () => {
    await bridge?.close();
    bridge = undefined;
    rmSync(workDir, { recursive: true, force: true });
  });

  // `--data-dir` picks the local queue over BRIDGE_QUEUE_URL (openQueues, localQueueDataDir), so
  // the jobs land in the bridge's queue and must be planned with the bridge's routing file.
  it("takes the bridge's routing with --data-dir and BRIDGE_QUEUE_URL", async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_MODE: "queue", BRIDGE_ROUTES_FILE: "test/fixtures/routing/routes.yaml" } });
    const delivery = JSON.parse(readFixture("payloads/alertmanager-firing-group.json")) as { alerts: Array<{ labels: Record<string, string> }> };
    for (const alert of delivery.alerts) alert.labels.alertname = "Watchdog";
    const file = join(workDir, "watchdog.json");
    writeFileSync(file, JSON.stringify(delivery));
    const output = captureCliOutput();
    const env = { BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/secmaster-bridge-dev-jobs" };

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dirname(bridge.infoFile), file], output.io, env);

    expect(exitCode).toBe(0);
    expect(output.err()).toContain("planning with the settings of the local bridge");
    expect(output.out()).toContain(": 0 jobs enqueued (one per alert and workflow), 3 skipped, 0 failed");
  });

  // The bridge sends unrouted alerts to its SECMASTER_WORKFLOW_ID. A replay from a shell without
  // that variable must plan the same target, or the job goes to a workflow the bridge does not use.
  it("plans the bridge's default workflow", async () => {
    bridge = await startTestBridge({ inMemoryStore: true, env: { BRIDGE_MODE: "queue", SECMASTER_WORKFLOW_ID: BRIDGE_WORKFLOW_ID } });
    const file = join(workDir, "firing.json");
    writeFileSync(file, readFixture("payloads/alertmanager-firing-unicode.json"));
    const output = captureCliOutput();
    const logs = captureLogOutput();

    const exitCode = await replayCommand(["--source", "alertmanager", "--data-dir", dirname(bridge.infoFile), file], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain(": 1 job enqueued");
    const emulator = bridge.emulator!;
    // The bridge's poller starts the job, or dead-letters it when the emulator rejects its workflow.
    const deadLetters = bridge.deadLetters!;
    await expect.poll(async () => emulator.instances().length + (await deadLetters.approximateCount()), { timeout: 10_000 }).toBeGreaterThan(0);
    logs.restore();
    expect(emulator.instances().map((instance) => instance.workflow_id)).toEqual([BRIDGE_WORKFLOW_ID]);
  });
});
