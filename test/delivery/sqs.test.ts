import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type SendMessageBatchCommandInput,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { decodeEnvelope, enqueueJobs, MAX_JOB_BYTES, MAX_MESSAGE_BYTES } from "../../lib/delivery/queue";
import { chunkBySize, SqsQueue } from "../../lib/delivery/sqs";
import { jobFor } from "./harness";

const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/secmaster-bridge-test-jobs";

// The real SDK client, with its `send` replaced by the mock: nothing leaves the process.
const client = new SQSClient({ region: "ap-southeast-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const sqs = mockClient(client);

function queue(): SqsQueue {
  return new SqsQueue({ client, queueUrl: QUEUE_URL, sleep: () => Promise.resolve() });
}

function messages(count: number, bodyBytes = 10): { id: string; body: string }[] {
  return Array.from({ length: count }, (_, index) => ({ id: `job-${index}`, body: "x".repeat(bodyBytes) }));
}

function entriesOf(callIndex: number): NonNullable<SendMessageBatchCommandInput["Entries"]> {
  return sqs.commandCalls(SendMessageBatchCommand)[callIndex]!.args[0].input.Entries!;
}

beforeEach(() => {
  sqs.reset();
});

afterAll(() => {
  sqs.restore();
  client.destroy();
});

describe("SqsQueue.send", () => {
  it("sends 25 messages in batches of 10, 10 and 5", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: `sqs-${entry.MessageBody}`, MD5OfMessageBody: "" })),
      Failed: [],
    }));

    const results = await queue().send(messages(25).map((message, index) => ({ ...message, body: `body-${index}` })));

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries!.length)).toEqual([10, 10, 5]);
    expect(calls[0]!.args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(results).toHaveLength(25);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(results[24]).toEqual({ id: "job-24", ok: true, messageId: "sqs-body-24" });
  });

  it("starts a new batch before 256 KiB of bodies", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: "m", MD5OfMessageBody: "" })),
    }));

    await queue().send(messages(5, 100_000));

    expect(sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries!.length)).toEqual([2, 2, 1]);
  });

  it("rejects an oversize message before sending anything for it", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: "m", MD5OfMessageBody: "" })),
    }));
    const batch = [
      { id: "small", body: "{}" },
      { id: "huge", body: "y".repeat(MAX_MESSAGE_BYTES + 1) },
    ];

    const results = await queue().send(batch);

    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(entriesOf(0).map((entry) => entry.MessageBody)).toEqual(["{}"]);
    expect(results[0]).toMatchObject({ id: "small", ok: true });
    const huge = results[1]!;
    expect(huge.ok).toBe(false);
    if (huge.ok) return;
    expect(huge.error.code).toBe("BRIDGE.JOB_TOO_LARGE");
    expect(huge.error.message).toContain("262145 bytes");
    expect(huge.error.message).toContain("262144 bytes");
  });

  it("sends entries that SQS failed again and reports sender faults", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: "m0", MessageId: "sqs-0", MD5OfMessageBody: "" }],
        Failed: [
          { Id: "m1", SenderFault: false, Code: "InternalError", Message: "try again" },
          { Id: "m2", SenderFault: true, Code: "InvalidMessageContents", Message: "bad characters" },
        ],
      })
      .resolvesOnce({ Successful: [{ Id: "m0", MessageId: "sqs-1", MD5OfMessageBody: "" }] });

    const results = await queue().send(messages(3).map((message, index) => ({ ...message, body: `body-${index}` })));

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(entriesOf(1).map((entry) => entry.MessageBody)).toEqual(["body-1"]);
    expect(results[0]).toEqual({ id: "job-0", ok: true, messageId: "sqs-0" });
    expect(results[1]).toEqual({ id: "job-1", ok: true, messageId: "sqs-1" });
    const rejected = results[2]!;
    expect(rejected.ok).toBe(false);
    if (rejected.ok) return;
    expect(rejected.error.code).toBe("BRIDGE.ENQUEUE_FAILED");
    expect(rejected.error.statusCode).toBe(422);
    expect(rejected.error.message).toContain("InvalidMessageContents");
  });

  it("reports an entry SQS keeps failing after three attempts", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: "m0", SenderFault: false, Code: "ServiceUnavailable" }] });

    const [result] = await queue().send(messages(1));

    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
    expect(result!.ok).toBe(false);
    if (result!.ok) return;
    expect(result!.error.code).toBe("BRIDGE.ENQUEUE_FAILED");
    expect(result!.error.statusCode).toBe(503);
    expect(result!.error.message).toContain("after 3 attempts (ServiceUnavailable)");
  });

  it("fails every entry of a request that throws", async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error("throttled"), { name: "RequestThrottled" }));

    const results = await queue().send(messages(12));

    expect(results).toHaveLength(12);
    expect(results.every((result) => !result.ok && result.error.code === "BRIDGE.QUEUE_UNAVAILABLE")).toBe(true);
  });
});

describe("enqueueJobs over SQS", () => {
  it("sends job envelopes and reports each job", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: `sqs-${entry.Id}`, MD5OfMessageBody: "" })),
    }));
    // source_url is never shortened, so this job cannot be made to fit.
    const large = jobFor(2, { content: { title: "big", source_url: `https://example.com/${"u".repeat(MAX_MESSAGE_BYTES)}` } });

    const results = await enqueueJobs(queue(), [jobFor(1), large, jobFor(3)]);

    expect(results.map((result) => result.status)).toEqual(["accepted", "failed", "accepted"]);
    expect(results[1]).toMatchObject({ status: "failed", error: { code: "BRIDGE.JOB_TOO_LARGE", statusCode: 422, field: "source_url" } });
    expect(results[1]).toMatchObject({ error: { message: expect.stringContaining(large.actionInstanceId) } });
    const sent = entriesOf(0).map((entry) => decodeEnvelope(entry.MessageBody!));
    expect(sent.map((envelope) => envelope.job.actionInstanceId)).toEqual([jobFor(1).actionInstanceId, jobFor(3).actionInstanceId]);
    expect(sent[0]!.priorAttempts).toBe(0);
  });
});

describe("enqueueJobs with an over-size description", () => {
  it("sends the job with its description truncated", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: `sqs-${entry.Id}`, MD5OfMessageBody: "" })),
    }));
    const large = jobFor(2, { content: { title: "big", severity: "High", description: "d".repeat(300_000) } });

    const [result] = await enqueueJobs(queue(), [large]);

    expect(result).toMatchObject({ status: "accepted", truncated: [{ field: "description", removedBytes: 42_325 }] });
    const [sent] = entriesOf(0);
    expect(Buffer.byteLength(sent!.MessageBody!)).toBeLessThanOrEqual(MAX_JOB_BYTES + 100);
    const { job } = decodeEnvelope(sent!.MessageBody!);
    expect(job.actionInstanceId).toBe(large.actionInstanceId);
    expect(job.content.title).toBe("big");
    expect(job.content.severity).toBe("High");
    expect(job.content.description).toBe(`${"d".repeat(257_675)}… [truncated 42325 bytes]`);
  });

  it("truncates the same job the same way every time", async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((entry) => ({ Id: entry.Id, MessageId: `sqs-${entry.Id}`, MD5OfMessageBody: "" })),
    }));
    const large = jobFor(2, { content: { description: "x".repeat(280_000), labels: "team=secops" } });

    await enqueueJobs(queue(), [large]);
    await enqueueJobs(queue(), [structuredClone(large)]);

    expect(entriesOf(1)[0]!.MessageBody).toBe(entriesOf(0)[0]!.MessageBody);
  });
});

describe("SqsQueue consumer side", () => {
  it("maps received messages and their receive counts", async () => {
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [{ MessageId: "id-1", ReceiptHandle: "rh-1", Body: "{}", Attributes: { ApproximateReceiveCount: "3", SentTimestamp: "1768465800000" } }],
    });

    const received = await queue().receive({ maxMessages: 50, visibilityTimeoutMs: 1_500, waitTimeMs: 1_000 });

    expect(received).toEqual([{ messageId: "id-1", receiptHandle: "rh-1", body: "{}", receiveCount: 3, sentAtMs: 1768465800000 }]);
    const input = sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input;
    expect(input.MaxNumberOfMessages).toBe(10);
    expect(input.VisibilityTimeout).toBe(2);
    expect(input.WaitTimeSeconds).toBe(1);
  });

  it("returns the handles SQS could not delete", async () => {
    sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: "d0" }], Failed: [{ Id: "d1", SenderFault: true, Code: "ReceiptHandleIsInvalid" }] });

    const failed = await queue().delete(["rh-a", "rh-b"]);

    expect(failed).toEqual(["rh-b"]);
  });

  it("changes visibility in seconds and in batches of 10", async () => {
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [] });
    const entries = Array.from({ length: 11 }, (_, index) => ({ receiptHandle: `rh-${index}`, visibilityTimeoutMs: 2_500 }));

    const failed = await queue().changeVisibility(entries);

    const calls = sqs.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(failed).toEqual([]);
    expect(calls.map((call) => call.args[0].input.Entries!.length)).toEqual([10, 1]);
    expect(calls[0]!.args[0].input.Entries![0]).toEqual({ Id: "v0", ReceiptHandle: "rh-0", VisibilityTimeout: 3 });
  });

  it("reads the approximate number of messages", async () => {
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: "1234" } });

    expect(await queue().approximateCount()).toBe(1234);
  });
});

describe("chunkBySize", () => {
  it("keeps a single oversize-free message per chunk at the byte limit", () => {
    const chunks = chunkBySize([
      { id: "a", body: "a".repeat(MAX_MESSAGE_BYTES) },
      { id: "b", body: "b" },
    ]);

    expect(chunks.map((chunk) => chunk.map((message) => message.id))).toEqual([["a"], ["b"]]);
  });
});
