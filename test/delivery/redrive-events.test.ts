import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { decodeEnvelope, type MessageQueue } from "../../lib/delivery/queue";
import { failedInvocationRecord, redriveDeadLetters } from "../../lib/delivery/redrive";
import { BridgeError } from "../../lib/errors";
import { jobFor } from "./harness";

const EVENTS_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:secmaster-bridge-dev-events";
const EVENT = { source: "aws.guardduty", "detail-type": "GuardDuty Finding", id: "e-1", detail: {} };

/** Wraps a queue so that the send of the message with id `failingId` fails, as a throttled SQS entry does. */
function failingOne(queue: MessageQueue, failingId: string): MessageQueue {
  const error = new BridgeError("BRIDGE.QUEUE_UNAVAILABLE", "the queue is unavailable", { statusCode: 503 });
  return {
    ...queue,
    name: queue.name,
    send: async (messages) => {
      const results = await queue.send(messages.filter((message) => message.id !== failingId));
      const failed = messages.filter((message) => message.id === failingId).map((message) => ({ id: message.id, ok: false as const, error }));
      return [...results, ...failed];
    },
  };
}

/** Wraps a queue so that its send drops the message `silentId` without returning a result for it. */
function withoutResultFor(queue: MessageQueue, silentId: string): MessageQueue {
  return { ...queue, name: queue.name, send: (messages) => queue.send(messages.filter((message) => message.id !== silentId)) };
}

describe("redriveDeadLetters with failed AWS events", () => {
  let dataDir: string;
  let queues: { queue: LocalQueue; deadLetters: LocalQueue };

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-redrive-events-"));
    queues = openLocalQueues(dataDir, 5);
    const record = failedInvocationRecord(EVENT, new Error("SQS returned 503"), EVENTS_ARN);
    await queues.deadLetters.send([{ id: "record", body: record }]);
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("moves every job of the event, each looked up before posting", async () => {
    const report = await redriveDeadLetters({ from: queues.deadLetters, to: queues.queue, planFailedEvent: () => [jobFor(1), jobFor(2)] });

    expect(report.moved).toBe(1);
    expect(report.failedEvents).toEqual([{ event: "GuardDuty Finding e-1", reason: "RetriesExhausted: SQS returned 503", jobs: 2, moved: true }]);
    expect(report.byErrorCode).toEqual({ "LAMBDA.EVENT_FAILED": 1 });
    const moved = (await queues.queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 })).map((message) => decodeEnvelope(message.body));
    expect(moved.map((envelope) => envelope.job.actionInstanceId).sort()).toEqual([jobFor(1).actionInstanceId, jobFor(2).actionInstanceId].sort());
    expect(moved.map((envelope) => envelope.priorAttempts)).toEqual([1, 1]);
    expect(await queues.deadLetters.approximateCount()).toBe(0);
  });

  it("keeps the record when one of its jobs is not sent", async () => {
    // Ids of the jobs the redrive sends are the message id, a slash and the job's index.
    const [record] = await queues.deadLetters.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    const to = failingOne(queues.queue, `${record!.messageId}/1`);

    const report = await redriveDeadLetters({ from: queues.deadLetters, to, planFailedEvent: () => [jobFor(1), jobFor(2)] });

    expect(report.moved).toBe(0);
    expect(report.failed).toBe(1);
    expect(report.failedEvents[0]!.moved).toBe(false);
    expect(await queues.deadLetters.approximateCount()).toBe(1);
    // The job that was sent waits in the jobs queue; the next redrive sends both again, and
    // dispatch starts each once because starts are idempotent.
    expect(await queues.queue.approximateCount()).toBe(1);
  });

  it("keeps the record when a job gets no send result", async () => {
    // A job without a result may not have reached the jobs queue, so deleting its record could lose the alert.
    const [record] = await queues.deadLetters.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    const to = withoutResultFor(queues.queue, `${record!.messageId}/1`);

    const report = await redriveDeadLetters({ from: queues.deadLetters, to, planFailedEvent: () => [jobFor(1), jobFor(2)] });

    expect(report.moved).toBe(0);
    expect(report.failed).toBe(1);
    expect(await queues.deadLetters.approximateCount()).toBe(1);
  });

  it("lists the event without a planner", async () => {
    const report = await redriveDeadLetters({ from: queues.deadLetters, to: queues.queue });

    expect(report.moved).toBe(0);
    expect(report.invalid).toBe(0);
    expect(report.failedEvents).toEqual([{ event: "GuardDuty Finding e-1", reason: "RetriesExhausted: SQS returned 503" }]);
    expect(await queues.deadLetters.approximateCount()).toBe(1);
  });
});
