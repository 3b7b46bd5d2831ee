import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SqsQueue } from "../../lib/delivery/sqs";

const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/secmaster-bridge-test-dead-letters";

// Mocks `send` of every SQSClient, including the one the queue makes itself: nothing leaves the process.
const sqs = mockClient(SQSClient);

afterEach(() => {
  sqs.reset();
});

afterAll(() => {
  sqs.restore();
});

describe("SqsQueue without a client", () => {
  it("makes its own client on the first request and sends through it", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: "m0", MessageId: "sqs-1", MD5OfMessageBody: "" }], Failed: [] });
    const queue = new SqsQueue({ queueUrl: QUEUE_URL });

    const results = await queue.send([{ id: "job-1", body: "{}" }]);
    queue.destroy();

    expect(results).toEqual([{ id: "job-1", ok: true, messageId: "sqs-1" }]);
    const input = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input;
    expect(input.QueueUrl).toBe(QUEUE_URL);
    expect(input.Entries).toEqual([{ Id: "m0", MessageBody: "{}" }]);
  });

  it("reports a failed request per message like a queue with a client", async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error("queue does not exist"), { name: "QueueDoesNotExist" }));
    const queue = new SqsQueue({ queueUrl: QUEUE_URL, sleep: () => Promise.resolve() });

    const [result] = await queue.send([{ id: "job-2", body: "{}" }]);
    queue.destroy();

    expect(result).toMatchObject({ id: "job-2", ok: false });
    expect(result!.ok ? undefined : result!.error.code).toBe("BRIDGE.QUEUE_UNAVAILABLE");
  });
});
