import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { redriveCommand } from "../../lib/cli/queue";
import { loadConfig } from "../../lib/config";
import { BridgeError } from "../../lib/errors";
import { openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope, type MessageQueue } from "../../lib/delivery/queue";
import { readFailedInvocation } from "../../lib/delivery/redrive";
import { createIngestRuntime } from "../../lib/ingest-runtime";
import { EMULATOR_DEFAULTS } from "../../lib/local/local-emulator";
import { startLocalSchedules } from "../../lib/local/scheduler";
import { captureCliOutput } from "../helpers/cli-output";
import { captureLogOutput } from "../helpers/log-capture";

const SCHEDULES = "test/fixtures/schedule/schedules.yaml";
// The id that `schedule run nightly-posture --at 2026-01-15T18:00:00Z` gives the run.
const NIGHTLY_ID = "41440672-9265-5de0-b13c-cc19da30fc68";

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-local-schedule-failure-"));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

// A jobs queue that takes nothing, as a full disk or an SQS outage would.
function failingQueue(queue: MessageQueue): MessageQueue {
  return {
    name: queue.name,
    send: (messages) => Promise.resolve(messages.map((message) => ({ id: message.id, ok: false as const, error: new BridgeError("BRIDGE.ENQUEUE_FAILED", "disk full") }))),
    receive: (options) => queue.receive(options),
    delete: (handles) => queue.delete(handles),
    changeVisibility: (entries) => queue.changeVisibility(entries),
    approximateCount: () => queue.approximateCount(),
  };
}

describe("local scheduler failures", () => {
  it("keeps a failed run for redrive --schedules", async () => {
    const queues = openLocalQueues(dataDir, 5);
    // The emulator's ids, which redrive falls back to without SECMASTER_* settings. Queue mode never calls SecMaster.
    const config = loadConfig({
      BRIDGE_SCHEDULES_FILE: SCHEDULES,
      BRIDGE_MODE: "queue",
      SECMASTER_ENDPOINT: "http://127.0.0.1:9",
      SECMASTER_PROJECT_ID: EMULATOR_DEFAULTS.projectId,
      SECMASTER_WORKSPACE_ID: EMULATOR_DEFAULTS.workspaceId,
      SECMASTER_WORKFLOW_ID: EMULATOR_DEFAULTS.workflowId,
      SECMASTER_AK: "LOCALSCHEDULEKEY0001",
      SECMASTER_SK: "local-schedule-test-secret",
    });
    const runtime = createIngestRuntime(config, { queue: failingQueue(queues.queue), deadLetters: queues.deadLetters });
    const logs = captureLogOutput();
    const scheduler = startLocalSchedules(config, runtime, () => new Date("2026-01-15T17:59:00.000Z"))!;
    await scheduler.close();

    await scheduler.runDue(new Date("2026-01-15T18:00:30.000Z"));
    logs.restore();

    // Both schedules due at 18:00 failed: nightly-posture and hourly-sweep.
    const records = (await queues.deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).map((message) => readFailedInvocation(message.body));
    expect(records.map((record) => record?.event.schedule).sort()).toEqual(["hourly-sweep", "nightly-posture"]);
    expect(records[0]?.event.time).toBe("2026-01-15T18:00:00.000Z");
    expect(records[0]?.reason).toContain("RetriesExhausted: failed to enqueue the start job");
    expect(logs.text()).toContain("failed scheduled run kept in the dead-letter queue for redrive --schedules");

    const output = captureCliOutput();
    const exitCode = await redriveCommand(["--data-dir", dataDir, "--schedules", SCHEDULES], output.io, {});

    expect(exitCode).toBe(0);
    expect(output.out()).toContain("nightly-posture at 2026-01-15T18:00:00.000Z: moved to the jobs queue");
    // A fresh reader, because the redrive wrote the jobs from another queue instance.
    const moved = await openLocalQueues(dataDir, 5).queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
    expect(moved.map((message) => decodeEnvelope(message.body).job.actionInstanceId)).toContain(NIGHTLY_ID);
    expect(moved).toHaveLength(2);
  });
});
