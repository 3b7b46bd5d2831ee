import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDispatchHandler } from "../../functions/dispatch";
import { retryDelayMs, type DispatchDependencies } from "../../lib/delivery/dispatch";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { toSqsRecord } from "../../lib/delivery/poller";
import { decodeEnvelope, encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { logger } from "../../lib/logger";
import { metrics } from "../../lib/metrics";
import { jobFor, lambdaContext, startDeliveryHarness, type DeliveryHarness } from "../delivery/harness";

let harness: DeliveryHarness;
let dataDir: string;
let queue: LocalQueue;
let deadLetters: LocalQueue;

beforeAll(async () => {
  harness = await startDeliveryHarness();
  logger.setLogLevel("SILENT");
});

afterAll(async () => {
  logger.setLogLevel("INFO");
  await harness.close();
});

afterEach(() => {
  harness.emulator.reset();
  harness.emulator.setFaults({});
  rmSync(dataDir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function setUp(): DispatchDependencies {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-dispatch-"));
  ({ queue, deadLetters } = openLocalQueues(dataDir, 3));
  return {
    starter: harness.starter(),
    queue,
    deadLetters,
    maxReceives: 3,
    // One at a time, so the emulator's scripted faults meet the records in order.
    concurrency: 1,
    retryBaseDelayMs: 1_000,
    retryMaxDelayMs: 60_000,
  };
}

/** Sends bodies to the local queue, receives them `receives` times and builds the SQS event of the last receive. */
async function eventOf(bodies: string[], receives = 1): Promise<SQSEvent> {
  await queue.send(bodies.map((body, index) => ({ id: String(index), body })));
  let received = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
  for (let receive = 2; receive <= receives; receive++) received = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 0 });
  return { Records: received.map((message) => toSqsRecord(message, "arn:aws:sqs:local:000000000000:jobs")) };
}

async function deadLetterBodies(): Promise<Record<string, unknown>[]> {
  const messages = await deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 60_000 });
  return messages.map((message) => JSON.parse(message.body) as Record<string, unknown>);
}

describe("dispatch handler", () => {
  it("returns exactly the failed message ids", async () => {
    const deps = setUp();
    const handler = createDispatchHandler(() => deps);
    const unknownWorkflow = jobFor(4, { workflowId: "00000000-0000-4000-8000-0000000000ff" });
    const event = await eventOf([
      encodeEnvelope(newEnvelope(jobFor(1))),
      encodeEnvelope(newEnvelope(jobFor(2))),
      "not a job",
      encodeEnvelope(newEnvelope(unknownWorkflow)),
    ]);
    // Record 1 succeeds, record 2 gets 503 on all three attempts, record 4 is rejected with 400.
    harness.emulator.setFaults({ script: ["none", "503", "503", "503"] });
    const added = vi.spyOn(metrics, "addMetric");

    const response = await handler(event, lambdaContext(30_000));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.messageId }]);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([jobFor(1).actionInstanceId]);
    const dead = await deadLetterBodies();
    expect(dead).toHaveLength(2);
    expect(dead.map((body) => (body.lastError as { code: string }).code).sort()).toEqual(["BRIDGE.JOB_INVALID", "SecMaster.20030001"]);
    const counted = added.mock.calls.map(([name, , value]) => `${name}=${value}`);
    expect(counted).toContain("InstancesCreated=1");
    expect(counted).toContain("DeadLettered=1");
    expect(counted.filter((entry) => entry.startsWith("StartFailures="))).toHaveLength(3);
  });

  it("warns of no listener leak on concurrent batches", async () => {
    // The local poller runs batches concurrently, and Middy gives them one shared abort signal.
    const deps = { ...setUp(), concurrency: 10 };
    const handler = createDispatchHandler(() => deps);
    await queue.send(Array.from({ length: 30 }, (_, index) => ({ id: String(index), body: encodeEnvelope(newEnvelope(jobFor(100 + index))) })));
    const events: SQSEvent[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const received = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 60_000 });
      events.push({ Records: received.map((message) => toSqsRecord(message, "arn:aws:sqs:local:000000000000:jobs")) });
    }
    // Latency keeps the calls in flight at the same time, each listening on the signal.
    harness.emulator.setFaults({ latencyMs: 100 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);

    try {
      const responses = await Promise.all(events.map((event) => handler(event, lambdaContext(30_000))));
      await new Promise((resolve) => setImmediate(resolve));

      expect(responses.flatMap((response) => response.batchItemFailures)).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
    expect(harness.emulator.instances()).toHaveLength(30);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("schedules the retry of a failed job with backoff", async () => {
    const deps = setUp();
    const handler = createDispatchHandler(() => deps);
    const event = await eventOf([encodeEnvelope(newEnvelope(jobFor(5)))]);
    harness.emulator.setFaults({ script: ["503", "503", "503"] });

    const response = await handler(event, lambdaContext(30_000));

    expect(response.batchItemFailures).toHaveLength(1);
    // Hidden for 500 to 1000 ms (equal jitter over the 1000 ms base), so not visible at once.
    expect(await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 0 })).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 0 })).toHaveLength(1);
  });

  it("dead-letters a job that fails on its last receive", async () => {
    const deps = setUp();
    const handler = createDispatchHandler(() => deps);
    const event = await eventOf([encodeEnvelope(newEnvelope(jobFor(6)))], 3);
    // The receive count makes the starter look the instance up first; then the post fails.
    harness.emulator.setFaults({ script: ["none", "503", "503", "503"] });

    const response = await handler(event, lambdaContext(30_000));

    expect(response.batchItemFailures).toEqual([]);
    const [dead] = await deadLetterBodies();
    const envelope = decodeEnvelope(JSON.stringify(dead));
    expect(envelope.job.actionInstanceId).toBe(jobFor(6).actionInstanceId);
    expect(envelope.lastError).toMatchObject({ code: "SecMaster.20039999", retryable: true, ambiguous: false, receiveCount: 3 });
    expect(envelope.lastError?.reason).toContain("gave up after 3 attempts");
  });

  it("reports a job started before as done", async () => {
    const deps = setUp();
    const handler = createDispatchHandler(() => deps);
    const first = await eventOf([encodeEnvelope(newEnvelope(jobFor(8)))]);
    await handler(first, lambdaContext(30_000));
    const second = await eventOf([encodeEnvelope(newEnvelope(jobFor(8)))]);

    const response = await handler(second, lambdaContext(30_000));

    expect(response.batchItemFailures).toEqual([]);
    expect(harness.emulator.instances()).toHaveLength(1);
    expect(harness.emulator.stats().requests).toBe(1);
  });

  it("answers before the function timeout with the unfinished jobs", async () => {
    const deps = setUp();
    const event = await eventOf([encodeEnvelope(newEnvelope(jobFor(9))), encodeEnvelope(newEnvelope(jobFor(10)))]);
    // The first job is created at once. From the second one on, SecMaster delays every response
    // by 5 s, longer than the invocation has left.
    const starter = harness.starter();
    let starts = 0;
    const slowAfterFirst = {
      ...starter,
      start: (...args: Parameters<typeof starter.start>) => {
        starts += 1;
        if (starts === 2) harness.emulator.setFaults({ latencyMs: 5_000 });
        return starter.start(...args);
      },
    };
    const handler = createDispatchHandler(() => ({ ...deps, starter: slowAfterFirst }), { earlyTimeoutMs: 1_000 });
    const startedMs = Date.now();

    const response = await handler(event, lambdaContext(2_000));

    expect(Date.now() - startedMs).toBeLessThan(1_800);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.messageId }]);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([jobFor(9).actionInstanceId]);
  });
});

describe("retryDelayMs", () => {
  it("doubles per receive within equal jitter and the cap", () => {
    expect(retryDelayMs(1, 1_000, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1_000, 60_000, () => 0.999999)).toBe(1_000);
    expect(retryDelayMs(3, 1_000, 60_000, () => 0)).toBe(2_000);
    expect(retryDelayMs(10, 1_000, 60_000, () => 0)).toBe(30_000);
  });
});
