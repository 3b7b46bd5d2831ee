import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { decodeEnvelope, type MessageQueue } from "../../lib/delivery/queue";
import { redriveDeadLetters } from "../../lib/delivery/redrive";
import { rejectionAdvice, settleRejectedStarts, type FailedStart } from "../../lib/delivery/rejected";
import { BridgeError, SecMasterError } from "../../lib/errors";
import type { AlertResult } from "../../lib/ingest";
import { jobFor, WORKFLOW_ID } from "./harness";

const NOW = new Date("2026-01-15T08:30:00.000Z");

const rejected = new SecMasterError("failed to create workflow instance: SecMaster returned 400 SecMaster.20030001 (workflow does not exist)", {
  httpStatus: 400,
  errorCode: "SecMaster.20030001",
  errorMessage: "workflow does not exist",
  retryable: false,
});
const throttled = new SecMasterError("failed to create workflow instance: SecMaster returned 429 APIG.0308", {
  httpStatus: 429,
  errorCode: "APIG.0308",
  retryable: true,
});

function failedResult(n: number, code: string): AlertResult {
  return { action_instance_id: jobFor(n).actionInstanceId, workflow_id: WORKFLOW_ID, status: "failed", code, reason: `start ${n} failed` };
}

/** Builds a queue whose sends all fail, as SQS sends do during an outage. */
function unavailableQueue(): MessageQueue {
  const error = new BridgeError("BRIDGE.QUEUE_UNAVAILABLE", "the queue is unavailable", { statusCode: 503 });
  return {
    name: "unavailable",
    send: (messages) => Promise.resolve(messages.map((message) => ({ id: message.id, ok: false as const, error }))),
    receive: () => Promise.resolve([]),
    delete: () => Promise.resolve([]),
    changeVisibility: () => Promise.resolve([]),
    approximateCount: () => Promise.resolve(0),
  };
}

let dataDir: string;
let queues: { queue: LocalQueue; deadLetters: LocalQueue };

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-rejected-"));
  queues = openLocalQueues(dataDir, 3);
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("settleRejectedStarts", () => {
  it("dead-letters a rejected start with its last error", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: rejected }]]);

    const outcome = await settleRejectedStarts([failedResult(1, "SecMaster.20030001")], failures, { deadLetters: queues.deadLetters, now: () => NOW });

    expect(outcome.permanentFailures).toEqual([]);
    expect(outcome.results[0]).toMatchObject({ status: "dead-lettered", code: "SecMaster.20030001" });
    expect(outcome.results[0]!.reason).toBe("start 1 failed; kept in the dead-letter queue for secmaster-bridge redrive");
    const [message] = await queues.deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 1_000 });
    const envelope = decodeEnvelope(message!.body);
    expect(envelope.job).toEqual(jobFor(1));
    expect(envelope.priorAttempts).toBe(0);
    expect(envelope.deadLetteredAt).toBe("2026-01-15T08:30:00.000Z");
    expect(envelope.lastError).toEqual({
      code: "SecMaster.20030001",
      reason: "failed to create workflow instance: SecMaster returned 400 SecMaster.20030001 (workflow does not exist)",
      retryable: false,
      ambiguous: false,
      receiveCount: 1,
      failedAt: "2026-01-15T08:30:00.000Z",
    });
  });

  it("leaves transient failures alone", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: throttled }]]);
    const results = [failedResult(1, "APIG.0308")];

    const outcome = await settleRejectedStarts(results, failures, { deadLetters: queues.deadLetters });

    expect(outcome).toEqual({ results, permanentFailures: [] });
    expect(await queues.deadLetters.approximateCount()).toBe(0);
  });

  it("dead-letters an alert named twice once", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: rejected }]]);

    const outcome = await settleRejectedStarts([failedResult(1, "SecMaster.20030001"), failedResult(1, "SecMaster.20030001")], failures, {
      deadLetters: queues.deadLetters,
    });

    expect(outcome.results.map((result) => result.status)).toEqual(["dead-lettered", "dead-lettered"]);
    expect(await queues.deadLetters.approximateCount()).toBe(1);
  });

  it("reports the setting to correct without a dead-letter queue", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: rejected }]]);

    const outcome = await settleRejectedStarts([failedResult(1, "SecMaster.20030001")], failures, { deadLetters: undefined });

    expect(outcome.results[0]).toMatchObject({ status: "failed", reason: "start 1 failed; no dead-letter queue is configured" });
    expect(outcome.permanentFailures).toHaveLength(1);
    expect(outcome.permanentFailures[0]!.result).toBe(outcome.results[0]);
    expect(outcome.permanentFailures[0]!.field).toBe("workflow_id");
    expect(outcome.permanentFailures[0]!.fix).toBe(
      `check that workflow ${WORKFLOW_ID} exists and is enabled in SecMaster workspace 00000000-0000-4000-8000-00000000a001, ` +
        "and correct the workflow id of the routing rule that chose it or SECMASTER_WORKFLOW_ID, then send the delivery again; " +
        "set BRIDGE_DLQ_URL to keep such alerts for secmaster-bridge redrive instead",
    );
  });

  it("keeps a failure transient when the dead-letter queue fails", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: rejected }]]);

    const outcome = await settleRejectedStarts([failedResult(1, "SecMaster.20030001")], failures, { deadLetters: unavailableQueue() });

    expect(outcome.permanentFailures).toEqual([]);
    expect(outcome.results[0]).toMatchObject({
      status: "failed",
      reason: "start 1 failed; failed to send it to the dead-letter queue: the queue is unavailable",
    });
  });

  it("shortens a large job to fit the dead-letter queue", async () => {
    const large = jobFor(1, { content: { title: "big", description: "d".repeat(400_000) } });
    const failures = new Map<string, FailedStart>([[large.actionInstanceId, { job: large, error: rejected }]]);

    const outcome = await settleRejectedStarts([failedResult(1, "SecMaster.20030001")], failures, { deadLetters: queues.deadLetters });

    expect(outcome.results[0]!.status).toBe("dead-lettered");
    const [message] = await queues.deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 1_000 });
    expect(decodeEnvelope(message!.body).job.content.description).toMatch(/^d+… \[truncated \d+ bytes\]$/);
  });

  it("makes redrive look the instance up before posting", async () => {
    const failures = new Map<string, FailedStart>([[jobFor(1).actionInstanceId, { job: jobFor(1), error: rejected }]]);
    await settleRejectedStarts([failedResult(1, "SecMaster.20030001")], failures, { deadLetters: queues.deadLetters });

    const report = await redriveDeadLetters({ from: queues.deadLetters, to: queues.queue });

    expect(report).toMatchObject({ moved: 1, byErrorCode: { "SecMaster.20030001": 1 } });
    const [message] = await queues.queue.receive({ maxMessages: 10, visibilityTimeoutMs: 1_000 });
    expect(decodeEnvelope(message!.body).priorAttempts).toBe(1);
  });
});

describe("rejectionAdvice", () => {
  it.each([
    ["SecMaster.20030001", "workflow_id"],
    ["SecMaster.20041002", "workflow_id"],
    ["SecMaster.20010001", "workspace_id"],
    ["SecMaster.20041001", "workspace_id"],
    ["SecMaster.20030002", "project_id"],
    ["SecMaster.20041003", "project_id"],
    ["SecMaster.20030025", "content"],
    ["APIG.0301", "(credentials)"],
    ["SecMaster.20039999", "(start)"],
  ])("names the field behind %s", (code, field) => {
    expect(rejectionAdvice(code, jobFor(1)).field).toBe(field);
  });
});
