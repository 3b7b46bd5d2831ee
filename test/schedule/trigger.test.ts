import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { decodeEnvelope } from "../../lib/delivery/queue";
import { SecMasterError } from "../../lib/errors";
import type { DefaultTarget } from "../../lib/ingest";
import { readSchedulesFile } from "../../lib/schedule/load";
import { runScheduledEvent } from "../../lib/schedule/trigger";

const TARGET: DefaultTarget = {
  projectId: "0000000000000000000000000000e001",
  workspaceId: "11111111-2222-4333-8444-555555555555",
  workflowId: "00000000-0000-4000-8000-00000000f001",
  dataclass: { name: "Alert" },
};
const EVENT = { schedule: "nightly-posture", time: "2026-01-15T18:00:00Z", event_id: "e-1" };
const schedules = readSchedulesFile("test/fixtures/schedule/schedules.yaml");

const workflowMissing = new SecMasterError("failed to create workflow instance: SecMaster returned 404 SecMaster.20030001", {
  httpStatus: 404,
  errorCode: "SecMaster.20030001",
  retryable: false,
});
const throttled = new SecMasterError("failed to create workflow instance: SecMaster returned 429 APIG.0308", { httpStatus: 429, errorCode: "APIG.0308", retryable: true });

function rejectingStarter(error: Error) {
  return { start: () => Promise.reject(error) };
}

let dataDir: string;
let deadLetters: LocalQueue;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-trigger-"));
  ({ deadLetters } = openLocalQueues(dataDir, 3));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("runScheduledEvent in direct mode", () => {
  it("keeps a run SecMaster rejects for good in the dead-letter queue", async () => {
    const result = await runScheduledEvent(EVENT, { schedules, target: TARGET, starter: rejectingStarter(workflowMissing), deadLetters });

    expect(result).toMatchObject({ schedule: "nightly-posture", action_instance_id: "41440672-9265-5de0-b13c-cc19da30fc68", status: "dead-lettered" });
    const [letter] = await deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
    const envelope = decodeEnvelope(letter!.body);
    expect(envelope.job.actionInstanceId).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(envelope.lastError).toMatchObject({ code: "SecMaster.20030001", retryable: false });
  });

  it("fails the invocation without a dead-letter queue", async () => {
    const failure = await runScheduledEvent(EVENT, { schedules, target: TARGET, starter: rejectingStarter(workflowMissing) }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "BRIDGE.START_FAILED" });
  });

  it("fails the invocation on a retryable failure", async () => {
    const failure = await runScheduledEvent(EVENT, { schedules, target: TARGET, starter: rejectingStarter(throttled), deadLetters }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "BRIDGE.START_FAILED" });
    expect(await deadLetters.approximateCount()).toBe(0);
  });
});
