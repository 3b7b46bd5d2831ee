import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dispatchRecords, type DispatchDependencies, type DispatchRecord, type RecordOutcome } from "../../lib/delivery/dispatch";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { decodeEnvelope, encodeEnvelope, newEnvelope, type JobEnvelope } from "../../lib/delivery/queue";
import { describeStartFailure } from "../../lib/delivery/start";
import { BridgeError } from "../../lib/errors";
import type { FaultKind } from "../../lib/local/emulator";
import { logger } from "../../lib/logger";
import { jobFor, startDeliveryHarness, type DeliveryHarness } from "./harness";

// The harness client makes 3 attempts per call, so a failed look-up takes three 503 responses.
const FAILED_LOOKUP: FaultKind[] = ["503", "503", "503"];

let harness: DeliveryHarness;
let dataDir: string;
let queue: LocalQueue;
let deadLetters: LocalQueue;

beforeAll(async () => {
  logger.setLogLevel("SILENT");
  // A short attempt timeout, so that an accept-timeout (stored, no response) fails in 300 ms.
  harness = await startDeliveryHarness({ attemptTimeoutMs: 300 });
});

afterAll(async () => {
  logger.setLogLevel("INFO");
  await harness.close();
});

afterEach(() => {
  harness.emulator.reset();
  harness.emulator.setFaults({});
  rmSync(dataDir, { recursive: true, force: true });
});

function setUp(maxReceives: number): DispatchDependencies {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-dead-letter-"));
  ({ queue, deadLetters } = openLocalQueues(dataDir, maxReceives));
  return {
    starter: harness.starter(),
    queue,
    deadLetters,
    maxReceives,
    concurrency: 1,
    // A failed job is visible again at once, so the next receive needs no wait.
    retryBaseDelayMs: 0,
    retryMaxDelayMs: 0,
  };
}

/** Receives the one job in the queue and dispatches it with the emulator's next responses scripted. */
async function dispatchNext(deps: DispatchDependencies, script: FaultKind[]): Promise<{ outcome: RecordOutcome | undefined; receiveCount: number }> {
  const [message] = await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 60_000 });
  if (message === undefined) throw new Error("the jobs queue is empty");
  const record: DispatchRecord = { messageId: message.messageId, receiptHandle: message.receiptHandle, body: message.body, receiveCount: message.receiveCount };
  harness.emulator.setFaults({ script });
  let outcome: RecordOutcome | undefined;
  await dispatchRecords([record], deps, { onSettled: (_, settled) => (outcome = settled) });
  if (outcome !== "retry") await queue.delete([message.receiptHandle]);
  return { outcome, receiveCount: message.receiveCount };
}

async function deadLetterEnvelopes(): Promise<JobEnvelope[]> {
  const messages = await deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 60_000 });
  return messages.map((message) => decodeEnvelope(message.body));
}

describe("dispatch before a dead letter", () => {
  it("completes a started job whose look-ups failed", async () => {
    const deps = setUp(2);
    const job = jobFor(1);
    await queue.send([{ id: "1", body: encodeEnvelope(newEnvelope(job)) }]);

    // Receive 1: the post is stored but gets no response, and the look-up after it fails.
    const first = await dispatchNext(deps, ["accept-timeout", ...FAILED_LOOKUP]);
    // Receive 2, the last: the look-up before posting fails too, then the final look-up finds it.
    const second = await dispatchNext(deps, [...FAILED_LOOKUP, "none"]);

    expect(first).toEqual({ outcome: "retry", receiveCount: 1 });
    expect(second).toEqual({ outcome: "duplicate", receiveCount: 2 });
    expect(await deadLetterEnvelopes()).toEqual([]);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([job.actionInstanceId]);
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
    expect(queue.size()).toBe(0);
  });

  it("marks the dead letter ambiguous when every look-up fails", async () => {
    const deps = setUp(2);
    const job = jobFor(2);
    await queue.send([{ id: "2", body: encodeEnvelope(newEnvelope(job)) }]);

    await dispatchNext(deps, ["accept-timeout", ...FAILED_LOOKUP]);
    // The look-up before posting and the final one both get 503 three times.
    const last = await dispatchNext(deps, [...FAILED_LOOKUP, ...FAILED_LOOKUP]);

    expect(last).toEqual({ outcome: "dead-lettered", receiveCount: 2 });
    const [dead, ...others] = await deadLetterEnvelopes();
    expect(others).toEqual([]);
    expect(dead?.job.actionInstanceId).toBe(job.actionInstanceId);
    // A 503 on the GET does not show whether the earlier post was stored, and here it was.
    expect(dead?.lastError).toMatchObject({ code: "SecMaster.20039999", retryable: true, ambiguous: true, receiveCount: 2 });
    expect(dead?.lastError?.reason).toContain("which an earlier attempt may have started");
    expect(harness.emulator.instances()).toHaveLength(1);
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });

  it("looks the instance up before dead-lettering a lost post", async () => {
    const deps = setUp(1);
    const job = jobFor(3);
    await queue.send([{ id: "3", body: encodeEnvelope(newEnvelope(job)) }]);

    // The only receive: the first post is dropped unstored and the look-up finds nothing, so the
    // starter posts again. That post is stored without a response, and the look-up after it fails.
    const only = await dispatchNext(deps, ["drop", "none", "accept-timeout", ...FAILED_LOOKUP, "none"]);

    expect(only).toEqual({ outcome: "duplicate", receiveCount: 1 });
    expect(await deadLetterEnvelopes()).toEqual([]);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([job.actionInstanceId]);
    expect(harness.emulator.stats().faultsInjected).toMatchObject({ drop: 1, acceptTimeout: 1, "5xx": 3 });
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });

  it("dead-letters a post SecMaster rejected without a look-up", async () => {
    const deps = setUp(1);
    const job = jobFor(4);
    await queue.send([{ id: "4", body: encodeEnvelope(newEnvelope(job)) }]);

    // A 503 means SecMaster did not act, so the failure is not ambiguous and nothing is looked up.
    const only = await dispatchNext(deps, ["503", "503", "503"]);

    expect(only).toEqual({ outcome: "dead-lettered", receiveCount: 1 });
    const [dead] = await deadLetterEnvelopes();
    expect(dead?.lastError).toMatchObject({ code: "SecMaster.20039999", ambiguous: false, receiveCount: 1 });
    expect(harness.emulator.stats().requests).toBe(3);
    expect(harness.emulator.instances()).toEqual([]);
  });
});

describe("describeStartFailure", () => {
  it("marks an in-progress start ambiguous", () => {
    const inProgress = new BridgeError("BRIDGE.START_IN_PROGRESS", "workflow instance x is being started by another request; retry later", { statusCode: 503 });
    const invalid = new BridgeError("BRIDGE.JOB_INVALID", "queue message is not a start job", { statusCode: 422 });

    expect(describeStartFailure(inProgress)).toMatchObject({ code: "BRIDGE.START_IN_PROGRESS", retryable: true, ambiguous: true });
    expect(describeStartFailure(invalid)).toMatchObject({ code: "BRIDGE.JOB_INVALID", retryable: false, ambiguous: false });
  });
});
