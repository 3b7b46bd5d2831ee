import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalQueue, openLocalQueues } from "../../lib/delivery/local-queue";
import { decodeEnvelope, encodeEnvelope, enqueueJobs, MAX_MESSAGE_BYTES, newEnvelope } from "../../lib/delivery/queue";
import { jobFor } from "./harness";

let dataDir: string;
let clockMs: number;
const now = () => clockMs;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-queue-"));
  clockMs = 1_768_465_800_000;
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function open(maxReceives = 3) {
  return openLocalQueues(dataDir, maxReceives, { now });
}

describe("LocalQueue", () => {
  it("hides a received message until its visibility timeout ends", async () => {
    const { queue } = open();
    await queue.send([{ id: "a", body: "first" }]);

    const first = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 });
    clockMs += 29_999;
    const hidden = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 });
    clockMs += 1;
    const again = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 });

    expect(first.map((message) => [message.body, message.receiveCount])).toEqual([["first", 1]]);
    expect(hidden).toEqual([]);
    expect(again.map((message) => [message.body, message.receiveCount])).toEqual([["first", 2]]);
  });

  it("counts hidden messages until visible", async () => {
    const { queue } = open();
    await queue.send([
      { id: "a", body: "received" },
      { id: "b", body: "waiting" },
    ]);
    await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 60_000 });

    expect(queue.hiddenMessages()).toEqual({ count: 1, lastVisibleAtMs: clockMs + 60_000 });
    clockMs += 60_000;
    expect(queue.hiddenMessages()).toEqual({ count: 0, lastVisibleAtMs: undefined });
  });

  it("delivers in sending order and at most maxMessages", async () => {
    const { queue } = open();
    for (const body of ["one", "two", "three"]) {
      await queue.send([{ id: body, body }]);
      clockMs += 1;
    }

    const batch = await queue.receive({ maxMessages: 2, visibilityTimeoutMs: 1_000 });

    expect(batch.map((message) => message.body)).toEqual(["one", "two"]);
  });

  it("removes a deleted message for good", async () => {
    const { queue } = open();
    await queue.send([{ id: "a", body: "gone" }]);
    const [message] = await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 });

    const failed = await queue.delete([message!.receiptHandle]);
    clockMs += 5_000;

    expect(failed).toEqual([]);
    expect(queue.size()).toBe(0);
    expect(await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 })).toEqual([]);
    expect(new LocalQueue({ dir: join(dataDir, "queue", "jobs"), now }).size()).toBe(0);
  });

  it("makes a message visible early with changeVisibility", async () => {
    const { queue } = open();
    await queue.send([{ id: "a", body: "retry me" }]);
    const [message] = await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 60_000 });

    await queue.changeVisibility([{ receiptHandle: message!.receiptHandle, visibilityTimeoutMs: 500 }]);
    clockMs += 500;

    expect((await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 })).map((item) => item.receiveCount)).toEqual([2]);
  });

  it("moves a job to the dead-letter queue after maxReceives", async () => {
    const { queue, deadLetters } = open(2);
    await enqueueJobs(queue, [jobFor(7)]);
    for (let receive = 1; receive <= 2; receive++) {
      expect(await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 })).toHaveLength(1);
      clockMs += 1_000;
    }

    const third = await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 });

    expect(third).toEqual([]);
    expect(queue.size()).toBe(0);
    const [dead] = await deadLetters.receive({ maxMessages: 10, visibilityTimeoutMs: 1_000 });
    const envelope = decodeEnvelope(dead!.body);
    expect(envelope.job.actionInstanceId).toBe(jobFor(7).actionInstanceId);
    expect(envelope.lastError?.code).toBe("BRIDGE.MAX_RECEIVES_EXCEEDED");
    expect(envelope.lastError?.receiveCount).toBe(2);
    expect(envelope.deadLetteredAt).toBe("2026-01-15T08:30:02.000Z");
  });

  it("keeps the last error dispatch recorded when dead-lettering", async () => {
    const { queue, deadLetters } = open(1);
    const lastError = { code: "APIG.0308", reason: "throttled", retryable: true, ambiguous: false, receiveCount: 1, failedAt: "2026-01-15T08:29:00.000Z" };
    await queue.send([{ id: "a", body: encodeEnvelope({ ...newEnvelope(jobFor(1)), lastError }) }]);
    await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });

    await queue.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });

    const [dead] = await deadLetters.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    expect(decodeEnvelope(dead!.body).lastError).toEqual(lastError);
  });

  it("keeps messages and receive counts across a restart", async () => {
    const first = open();
    await first.queue.send([
      { id: "a", body: "received once" },
      { id: "b", body: "never received" },
    ]);
    await first.queue.receive({ maxMessages: 1, visibilityTimeoutMs: 10_000 });

    const restarted = open();
    const early = await restarted.queue.receive({ maxMessages: 10, visibilityTimeoutMs: 60_000 });
    clockMs += 10_000;
    const late = await restarted.queue.receive({ maxMessages: 10, visibilityTimeoutMs: 10_000 });

    expect(restarted.queue.size()).toBe(2);
    expect(early.map((message) => [message.body, message.receiveCount])).toEqual([["never received", 1]]);
    expect(late.map((message) => [message.body, message.receiveCount])).toEqual([["received once", 2]]);
  });

  it("finds messages another process added", async () => {
    const consumer = open().queue;
    const producer = new LocalQueue({ dir: join(dataDir, "queue", "jobs"), now });
    await producer.send([{ id: "a", body: "from the replay command" }]);

    clockMs += 500;
    const received = await consumer.receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 });

    expect(received.map((message) => message.body)).toEqual(["from the replay command"]);
  });

  it("removes temporary files left by a crash", async () => {
    const { queue } = open();
    await queue.send([{ id: "a", body: "kept" }]);
    const dir = join(dataDir, "queue", "jobs");
    writeFileSync(join(dir, "0000000000-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.json.999999999.tmp"), '{"id":');

    const reopened = new LocalQueue({ dir, now });

    expect(reopened.size()).toBe(1);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("rejects a message file that is not valid", () => {
    const dir = join(dataDir, "queue", "jobs");
    new LocalQueue({ dir, now });
    writeFileSync(join(dir, "0000000000-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee.json"), "not json");

    expect(() => new LocalQueue({ dir, now })).toThrow(expect.objectContaining({ code: "BRIDGE.QUEUE_STATE_INVALID" }));
  });

  it("rejects an oversize message like SQS", async () => {
    const { queue } = open();

    const [result] = await queue.send([{ id: "big", body: "z".repeat(MAX_MESSAGE_BYTES + 1) }]);

    expect(result).toMatchObject({ ok: false, error: { code: "BRIDGE.JOB_TOO_LARGE" } });
    expect(queue.size()).toBe(0);
  });

  it("calls send listeners after a stored message", async () => {
    const { queue } = open();
    let calls = 0;
    const unsubscribe = queue.onSend(() => {
      calls += 1;
    });

    await queue.send([{ id: "a", body: "x" }]);
    unsubscribe();
    await queue.send([{ id: "b", body: "y" }]);

    expect(calls).toBe(1);
  });
});
