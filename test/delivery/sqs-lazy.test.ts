import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AwsJsonClient, AwsServiceError, SQS } from "../../lib/aws/client";
import { SqsQueue, sqsEndpointFor } from "../../lib/delivery/sqs";
import { startAwsStandin, type AwsStandin } from "../helpers/aws-standin";
import { serveSqs, stubStandinEnv, type SqsModel } from "../helpers/sqs-standin";

// A queue URL of the AWS form, whose region the queue may use, and one of a local emulator's form.
const AWS_QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/secmaster-bridge-test-dead-letters";
let localQueueUrl: string;

let standin: AwsStandin;
let sqs: SqsModel;

/** Clears every variable the queue's client reads, so no setting of this machine leaks in. */
function clearAwsEnv(): void {
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
    vi.stubEnv(name, "");
  }
}

beforeEach(async () => {
  standin = await startAwsStandin({ region: "ap-southeast-1" });
  localQueueUrl = `${standin.url}/123456789012/lazy-jobs`;
  sqs = serveSqs(standin, { queues: [AWS_QUEUE_URL, localQueueUrl] });
  clearAwsEnv();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  expect(standin.refused).toEqual([]);
  await standin.close();
});

describe("SqsQueue without a client", () => {
  it("makes its client on the first send", async () => {
    // No region is set and the URL names none, so a client made now would throw.
    const queue = new SqsQueue({ queueUrl: localQueueUrl });
    stubStandinEnv(standin);

    const results = await queue.send([{ id: "job-1", body: "{}" }]);

    expect(results).toEqual([{ id: "job-1", ok: true, messageId: "00000000-0000-4000-8000-000000000001" }]);
    expect(sqs.inputs("SendMessageBatch")).toEqual([{ QueueUrl: localQueueUrl, Entries: [{ Id: "m0", MessageBody: "{}" }] }]);
  });

  it("takes the region from the queue URL without AWS_REGION", async () => {
    stubStandinEnv(standin, { AWS_REGION: "" });
    const queue = new SqsQueue({ queueUrl: AWS_QUEUE_URL });

    const count = await queue.approximateCount();

    // The stand-in rejects a signature whose scope names another region than ap-southeast-1.
    expect(count).toBe(0);
    expect(sqs.inputs("GetQueueAttributes")).toHaveLength(1);
  });

  it("sends to the host of a queue URL outside AWS", async () => {
    // No endpoint variable is set: only the queue URL leads to the stand-in.
    stubStandinEnv(standin, { AWS_ENDPOINT_URL: "" });
    const queue = new SqsQueue({ queueUrl: localQueueUrl });

    const results = await queue.send([{ id: "job-4", body: "{}" }]);

    expect(results.map((result) => result.ok)).toEqual([true]);
    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
  });

  it("reports a client it cannot make, then retries", async () => {
    const queue = new SqsQueue({ queueUrl: localQueueUrl, sleep: () => Promise.resolve() });

    const [failed] = await queue.send([{ id: "job-2", body: "{}" }]);
    stubStandinEnv(standin);
    const [sent] = await queue.send([{ id: "job-3", body: "{}" }]);

    expect(failed!.ok).toBe(false);
    if (failed!.ok) return;
    expect(failed!.error.code).toBe("BRIDGE.QUEUE_UNAVAILABLE");
    expect(failed!.error.message).toBe(`failed to call SQS SendMessageBatch on ${localQueueUrl}: ConfigError: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION)`);
    expect(sent).toEqual({ id: "job-3", ok: true, messageId: "00000000-0000-4000-8000-000000000001" });
    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
  });
});

describe("SqsQueue errors", () => {
  it("keeps the client's own message whole", async () => {
    const fix = `no AWS credentials found: ${"set a profile or keys; ".repeat(12)}end of the fix`;
    const client = new AwsJsonClient({
      service: SQS,
      env: standin.env(),
      credentials: () => {
        throw new AwsServiceError("CredentialsProviderError", fix, { retryable: false });
      },
    });

    const [failed] = await new SqsQueue({ client, queueUrl: localQueueUrl }).send([{ id: "job-5", body: "{}" }]);

    expect(failed!.ok).toBe(false);
    if (failed!.ok) return;
    expect(failed!.error.message).toBe(`failed to call SQS SendMessageBatch on ${localQueueUrl}: CredentialsProviderError: ${fix}`);
  });
});

describe("sqsEndpointFor", () => {
  it("leaves AWS queue URLs to the regional endpoint", () => {
    expect(sqsEndpointFor("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs", {})).toBeUndefined();
    expect(sqsEndpointFor("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs", {})).toBeUndefined();
    expect(sqsEndpointFor("https://eu-west-1.queue.amazonaws.com/123456789012/jobs", {})).toBeUndefined();
  });

  it("takes the origin of another queue URL", () => {
    expect(sqsEndpointFor("http://localhost:9324/000000000000/jobs", {})).toBe("http://localhost:9324");
  });

  it("yields to the endpoint variables", () => {
    expect(sqsEndpointFor("http://localhost:9324/000000000000/jobs", { AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:4566" })).toBeUndefined();
    expect(sqsEndpointFor("http://localhost:9324/000000000000/jobs", { AWS_ENDPOINT_URL: "http://127.0.0.1:4566" })).toBeUndefined();
  });
});
