import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsJsonClient, AwsServiceError, SQS } from "../../lib/aws/client";
import { decodeEnvelope, enqueueJobs, MAX_JOB_BYTES, MAX_MESSAGE_BYTES } from "../../lib/delivery/queue";
import { chunkBySize, SqsQueue } from "../../lib/delivery/sqs";
import { startAwsStandin, StandinFault, type AwsStandin } from "../helpers/aws-standin";
import { serveSqs, type SqsModel } from "../helpers/sqs-standin";
import { jobFor } from "./harness";

const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/secmaster-bridge-test-jobs";
const MISSING_QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/secmaster-bridge-test-missing";
const SENT_AT_MS = 1768465800000;

// Every test gets a fresh stand-in on 127.0.0.1 with the SQS model behind it and one empty queue.
let standin: AwsStandin;
let sqs: SqsModel;
let client: AwsJsonClient;

beforeEach(async () => {
  standin = await startAwsStandin({ region: "ap-southeast-1" });
  sqs = serveSqs(standin, { queues: [QUEUE_URL], nowMs: () => SENT_AT_MS });
  // The client's own retries of whole requests wait for nothing here.
  client = new AwsJsonClient({ service: SQS, env: standin.env(), sleep: () => Promise.resolve() });
});

afterEach(async () => {
  expect(standin.refused).toEqual([]);
  await standin.close();
});

function queue(queueUrl = QUEUE_URL): SqsQueue {
  return new SqsQueue({ client, queueUrl, sleep: () => Promise.resolve() });
}

function messages(count: number, bodyBytes = 10): { id: string; body: string }[] {
  return Array.from({ length: count }, (_, index) => ({ id: `job-${index}`, body: "x".repeat(bodyBytes) }));
}

interface SentEntry {
  Id: string;
  MessageBody: string;
}

function entriesOf(callIndex: number): SentEntry[] {
  return sqs.inputs("SendMessageBatch")[callIndex]!.Entries as SentEntry[];
}

function batchSizes(operation: string): number[] {
  return sqs.inputs(operation).map((input) => (input.Entries as unknown[]).length);
}

describe("SqsQueue.send", () => {
  it("sends 25 messages in batches of 10, 10 and 5", async () => {
    const results = await queue().send(messages(25).map((message, index) => ({ ...message, body: `body-${index}` })));

    expect(batchSizes("SendMessageBatch")).toEqual([10, 10, 5]);
    expect(sqs.inputs("SendMessageBatch")[0]!.QueueUrl).toBe(QUEUE_URL);
    expect(entriesOf(0)[0]).toEqual({ Id: "m0", MessageBody: "body-0" });
    expect(results).toHaveLength(25);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(results[24]).toEqual({ id: "job-24", ok: true, messageId: "00000000-0000-4000-8000-000000000025" });
    expect(sqs.messages(QUEUE_URL).map((message) => message.body).slice(-2)).toEqual(["body-23", "body-24"]);
  });

  it("starts a new batch before 256 KiB of bodies", async () => {
    await queue().send(messages(5, 100_000));

    expect(batchSizes("SendMessageBatch")).toEqual([2, 2, 1]);
    expect(sqs.messages(QUEUE_URL)).toHaveLength(5);
  });

  it("rejects an oversize message before sending anything for it", async () => {
    const batch = [
      { id: "small", body: "{}" },
      { id: "huge", body: "y".repeat(MAX_MESSAGE_BYTES + 1) },
    ];

    const results = await queue().send(batch);

    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
    expect(entriesOf(0).map((entry) => entry.MessageBody)).toEqual(["{}"]);
    expect(results[0]).toMatchObject({ id: "small", ok: true });
    const huge = results[1]!;
    expect(huge.ok).toBe(false);
    if (huge.ok) return;
    expect(huge.error.code).toBe("BRIDGE.JOB_TOO_LARGE");
    expect(huge.error.message).toContain("262145 bytes");
    expect(huge.error.message).toContain("262144 bytes");
  });

  it("sends an entry SQS failed on its side again", async () => {
    let failures = 0;
    sqs.failEntries((entry) => (entry.MessageBody === "body-1" && failures++ === 0 ? { SenderFault: false, Code: "InternalError", Message: "try again" } : undefined));

    const results = await queue().send(messages(3).map((message, index) => ({ ...message, body: `body-${index}` })));

    expect(batchSizes("SendMessageBatch")).toEqual([3, 1]);
    expect(entriesOf(1)).toEqual([{ Id: "m0", MessageBody: "body-1" }]);
    expect(results).toEqual([
      { id: "job-0", ok: true, messageId: "00000000-0000-4000-8000-000000000001" },
      { id: "job-1", ok: true, messageId: "00000000-0000-4000-8000-000000000003" },
      { id: "job-2", ok: true, messageId: "00000000-0000-4000-8000-000000000002" },
    ]);
    expect(sqs.messages(QUEUE_URL).map((message) => message.body)).toEqual(["body-0", "body-2", "body-1"]);
  });

  it("reports a sender fault as 422 without sending it again", async () => {
    // SQS rejects U+0000 in a body, so the model fails this entry as the sender's fault.
    const results = await queue().send([
      { id: "good", body: "body-0" },
      { id: "bad", body: "bad \u0000 character" },
    ]);

    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
    expect(results[0]).toEqual({ id: "good", ok: true, messageId: "00000000-0000-4000-8000-000000000001" });
    const rejected = results[1]!;
    expect(rejected.id).toBe("bad");
    expect(rejected.ok).toBe(false);
    if (rejected.ok) return;
    expect(rejected.error.code).toBe("BRIDGE.ENQUEUE_FAILED");
    expect(rejected.error.statusCode).toBe(422);
    expect(rejected.error.message).toContain(`failed to send a job to ${QUEUE_URL}: SQS rejected the message (InvalidMessageContents): Invalid characters found`);
  });

  it("reports an entry SQS keeps failing after three attempts", async () => {
    sqs.failEntries(() => ({ SenderFault: false, Code: "ServiceUnavailable" }));

    const [result] = await queue().send(messages(1));

    expect(sqs.inputs("SendMessageBatch")).toHaveLength(3);
    expect(result!.ok).toBe(false);
    if (result!.ok) return;
    expect(result!.error.code).toBe("BRIDGE.ENQUEUE_FAILED");
    expect(result!.error.statusCode).toBe(503);
    expect(result!.error.message).toContain("after 3 attempts (ServiceUnavailable)");
    expect(sqs.messages(QUEUE_URL)).toEqual([]);
  });

  it("fails every entry of a request the client gave up on", async () => {
    standin.handle("AmazonSQS.SendMessageBatch", () => {
      throw new StandinFault("RequestThrottled", "Request is throttled.", 400, { headers: { "x-amzn-query-error": "RequestThrottled;Sender" } });
    });

    const results = await queue().send(messages(12));

    // Two chunks, each tried three times by the client and not again by the queue.
    expect(sqs.inputs("SendMessageBatch")).toHaveLength(6);
    expect(results).toHaveLength(12);
    expect(results.every((result) => !result.ok && result.error.code === "BRIDGE.QUEUE_UNAVAILABLE")).toBe(true);
    const [first] = results;
    expect(first!.ok ? undefined : first!.error.message).toBe(`failed to call SQS SendMessageBatch on ${QUEUE_URL}: RequestThrottled (HTTP 400)`);
  });

  it("reports a missing queue as unavailable", async () => {
    const results = await queue(MISSING_QUEUE_URL).send(messages(2));

    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
    expect(results.map((result) => result.id)).toEqual(["job-0", "job-1"]);
    for (const result of results) {
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.error.code).toBe("BRIDGE.QUEUE_UNAVAILABLE");
      expect(result.error.statusCode).toBe(503);
      expect(result.error.message).toBe(`failed to call SQS SendMessageBatch on ${MISSING_QUEUE_URL}: QueueDoesNotExist (HTTP 400)`);
      expect(result.error.cause).toBeInstanceOf(AwsServiceError);
      expect((result.error.cause as AwsServiceError).code).toBe("QueueDoesNotExist");
    }
  });
});

describe("enqueueJobs over SQS", () => {
  it("sends job envelopes and reports each job", async () => {
    // source_url is never shortened, so this job cannot be made to fit.
    const large = jobFor(2, { content: { title: "big", source_url: `https://example.com/${"u".repeat(MAX_MESSAGE_BYTES)}` } });

    const results = await enqueueJobs(queue(), [jobFor(1), large, jobFor(3)]);

    expect(results.map((result) => result.status)).toEqual(["accepted", "failed", "accepted"]);
    expect(results[1]).toMatchObject({ status: "failed", error: { code: "BRIDGE.JOB_TOO_LARGE", statusCode: 422, field: "source_url" } });
    expect(results[1]).toMatchObject({ error: { message: expect.stringContaining(large.actionInstanceId) } });
    const sent = entriesOf(0).map((entry) => decodeEnvelope(entry.MessageBody));
    expect(sent.map((envelope) => envelope.job.actionInstanceId)).toEqual([jobFor(1).actionInstanceId, jobFor(3).actionInstanceId]);
    expect(sent[0]!.priorAttempts).toBe(0);
  });
});

describe("enqueueJobs with an over-size description", () => {
  it("sends the job with its description truncated", async () => {
    const large = jobFor(2, { content: { title: "big", severity: "High", description: "d".repeat(300_000) } });

    const [result] = await enqueueJobs(queue(), [large]);

    expect(result).toMatchObject({ status: "accepted", truncated: [{ field: "description", removedBytes: 42_325 }] });
    const [sent] = entriesOf(0);
    expect(Buffer.byteLength(sent!.MessageBody)).toBeLessThanOrEqual(MAX_JOB_BYTES + 100);
    const { job } = decodeEnvelope(sent!.MessageBody);
    expect(job.actionInstanceId).toBe(large.actionInstanceId);
    expect(job.content.title).toBe("big");
    expect(job.content.severity).toBe("High");
    expect(job.content.description).toBe(`${"d".repeat(257_675)}… [truncated 42325 bytes]`);
  });

  it("truncates the same job the same way every time", async () => {
    const large = jobFor(2, { content: { description: "x".repeat(280_000), labels: "team=secops" } });

    await enqueueJobs(queue(), [large]);
    await enqueueJobs(queue(), [structuredClone(large)]);

    expect(entriesOf(1)[0]!.MessageBody).toBe(entriesOf(0)[0]!.MessageBody);
  });
});

describe("SqsQueue consumer side", () => {
  it("maps received messages and their receive counts", async () => {
    const jobs = queue();
    await jobs.send([{ id: "job-1", body: "{}" }]);
    // Two receives that make the message visible again at once, so the third is its third.
    await jobs.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
    await jobs.receive({ maxMessages: 1, visibilityTimeoutMs: 0 });

    const received = await jobs.receive({ maxMessages: 50, visibilityTimeoutMs: 1_500, waitTimeMs: 1_000 });

    expect(received).toEqual([
      { messageId: "00000000-0000-4000-8000-000000000001", receiptHandle: "rh-000000000001-3", body: "{}", receiveCount: 3, sentAtMs: SENT_AT_MS },
    ]);
    const input = sqs.inputs("ReceiveMessage")[2]!;
    expect(input).toEqual({
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 2,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
    });
  });

  it("returns the handles SQS could not delete", async () => {
    const jobs = queue();
    await jobs.send([{ id: "job-1", body: "{}" }]);
    const [received] = await jobs.receive({ maxMessages: 1, visibilityTimeoutMs: 30_000 });

    const failed = await jobs.delete([received!.receiptHandle, "rh-unknown"]);

    expect(failed).toEqual(["rh-unknown"]);
    expect(sqs.inputs("DeleteMessageBatch")[0]).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: "d0", ReceiptHandle: "rh-000000000001-1" },
        { Id: "d1", ReceiptHandle: "rh-unknown" },
      ],
    });
    expect(sqs.messages(QUEUE_URL)).toEqual([]);
  });

  it("changes visibility in seconds and in batches of 10", async () => {
    const jobs = queue();
    await jobs.send(messages(11));
    const received = [...(await jobs.receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 })), ...(await jobs.receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 }))];
    const entries = received.map((message) => ({ receiptHandle: message.receiptHandle, visibilityTimeoutMs: 2_500 }));

    const failed = await jobs.changeVisibility(entries);

    expect(received).toHaveLength(11);
    expect(failed).toEqual([]);
    expect(batchSizes("ChangeMessageVisibilityBatch")).toEqual([10, 1]);
    expect((sqs.inputs("ChangeMessageVisibilityBatch")[0]!.Entries as unknown[])[0]).toEqual({ Id: "v0", ReceiptHandle: "rh-000000000001-1", VisibilityTimeout: 3 });
    expect(sqs.messages(QUEUE_URL).map((message) => message.visibleAtMs - SENT_AT_MS)).toEqual(Array.from({ length: 11 }, () => 3_000));
  });

  it("returns every handle of a batch request that failed", async () => {
    const failed = await queue(MISSING_QUEUE_URL).delete(["rh-a", "rh-b"]);

    expect(failed).toEqual(["rh-a", "rh-b"]);
  });

  it("reads the approximate number of messages", async () => {
    await queue().send(messages(12));

    expect(await queue().approximateCount()).toBe(12);
    expect(sqs.inputs("GetQueueAttributes")[0]).toEqual({ QueueUrl: QUEUE_URL, AttributeNames: ["ApproximateNumberOfMessages"] });
  });

  it("names the operation and the queue when a receive fails", async () => {
    const failure = await queue(MISSING_QUEUE_URL)
      .receive({ maxMessages: 1, visibilityTimeoutMs: 1_000 })
      .catch((error: unknown) => error);

    expect(failure).toMatchObject({
      code: "BRIDGE.QUEUE_UNAVAILABLE",
      statusCode: 503,
      message: `failed to call SQS ReceiveMessage on ${MISSING_QUEUE_URL}: QueueDoesNotExist (HTTP 400)`,
    });
  });
});

describe("SqsQueue long polls", () => {
  // SQS returns a long poll only when a message arrives or the wait ends. This handler returns after 300 ms.
  function answerLate(): void {
    standin.handle("AmazonSQS.ReceiveMessage", async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { Messages: [{ MessageId: "late-1", ReceiptHandle: "handle-late-1", Body: "{}", Attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1768465800000" } }] };
    });
  }

  it("waits out a long poll longer than the client's time per attempt", async () => {
    answerLate();
    const impatient = new AwsJsonClient({ service: SQS, env: standin.env(), timeoutMs: 100, maxAttempts: 1 });

    const received = await new SqsQueue({ client: impatient, queueUrl: QUEUE_URL }).receive({ maxMessages: 10, visibilityTimeoutMs: 30_000, waitTimeMs: 1000 });

    expect(received.map((message) => message.messageId)).toEqual(["late-1"]);
  });

  it("keeps the client's time per attempt for a request without a wait", async () => {
    answerLate();
    const impatient = new AwsJsonClient({ service: SQS, env: standin.env(), timeoutMs: 100, maxAttempts: 1 });

    const failure = await new SqsQueue({ client: impatient, queueUrl: QUEUE_URL }).receive({ maxMessages: 10, visibilityTimeoutMs: 30_000 }).catch((error: unknown) => error);

    expect(failure).toMatchObject({ code: "BRIDGE.QUEUE_UNAVAILABLE", statusCode: 503 });
    expect((failure as Error).message).toContain("TimeoutError");
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

describe("SQS stand-in model", () => {
  // The AWS SDK checks the MD5 digests of bodies and parses errors by the protocol's rules, so
  // it fails here where the model's output differs from what SQS sends.
  function sdkClient(): SQSClient {
    return new SQSClient({ region: standin.region, endpoint: standin.url, credentials: standin.credentials, maxAttempts: 1 });
  }

  it("works with the AWS SDK client", async () => {
    const sdk = sdkClient();
    try {
      const sent = await sdk.send(
        new SendMessageBatchCommand({
          QueueUrl: QUEUE_URL,
          Entries: [
            { Id: "a", MessageBody: "from the SDK ✓" },
            { Id: "b", MessageBody: "bad \u0000" },
          ],
        }),
      );
      const [fromQueue] = await queue().send([{ id: "q", body: "from SqsQueue" }]);
      const [readByQueue] = await queue().receive({ maxMessages: 1, visibilityTimeoutMs: 0 });
      const readBySdk = await sdk.send(
        new ReceiveMessageCommand({ QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageSystemAttributeNames: ["All"] }),
      );
      const changed = await sdk.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: QUEUE_URL,
          Entries: [
            { Id: "c0", ReceiptHandle: readBySdk.Messages![0]!.ReceiptHandle!, VisibilityTimeout: 5 },
            { Id: "c1", ReceiptHandle: "rh-unknown", VisibilityTimeout: 5 },
          ],
        }),
      );
      const deleted = await sdk.send(
        new DeleteMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: readBySdk.Messages!.map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle! })) }),
      );
      const attributes = await sdk.send(new GetQueueAttributesCommand({ QueueUrl: QUEUE_URL, AttributeNames: ["ApproximateNumberOfMessages"] }));

      expect(sent.Successful).toEqual([{ Id: "a", MessageId: "00000000-0000-4000-8000-000000000001", MD5OfMessageBody: "20eca508080c276adfd61c7f505e3159" }]);
      expect(sent.Failed).toEqual([expect.objectContaining({ Id: "b", SenderFault: true, Code: "InvalidMessageContents" })]);
      expect(fromQueue).toEqual({ id: "q", ok: true, messageId: "00000000-0000-4000-8000-000000000002" });
      expect(readByQueue).toEqual({ messageId: "00000000-0000-4000-8000-000000000001", receiptHandle: "rh-000000000001-1", body: "from the SDK ✓", receiveCount: 1, sentAtMs: SENT_AT_MS });
      expect(readBySdk.Messages!.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount, message.Attributes?.SentTimestamp])).toEqual([
        ["from the SDK ✓", "2", String(SENT_AT_MS)],
        ["from SqsQueue", "1", String(SENT_AT_MS)],
      ]);
      expect(changed.Successful).toEqual([{ Id: "c0" }]);
      expect(changed.Failed).toEqual([expect.objectContaining({ Id: "c1", SenderFault: true, Code: "ReceiptHandleIsInvalid" })]);
      expect(deleted.Successful).toEqual([{ Id: "d0" }, { Id: "d1" }]);
      expect(attributes.Attributes).toEqual({ ApproximateNumberOfMessages: "0" });
    } finally {
      sdk.destroy();
    }
  });

  it("reports a missing queue to the SDK", async () => {
    const sdk = sdkClient();
    try {
      const failure = await sdk.send(new SendMessageBatchCommand({ QueueUrl: MISSING_QUEUE_URL, Entries: [{ Id: "a", MessageBody: "{}" }] })).catch((error: unknown) => error);

      expect(failure).toMatchObject({ name: "QueueDoesNotExist", $metadata: { httpStatusCode: 400 } });
      expect((failure as Error).message).toBe("The specified queue does not exist.");
    } finally {
      sdk.destroy();
    }
  });
});
