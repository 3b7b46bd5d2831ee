import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createScheduleHandler } from "../../functions/schedule";
import { loadConfig } from "../../lib/config";
import { openLocalQueues, type LocalQueue } from "../../lib/delivery/local-queue";
import { decodeEnvelope, type JobEnvelope } from "../../lib/delivery/queue";
import type { BridgeError } from "../../lib/errors";
import { createIngestRuntime } from "../../lib/ingest-runtime";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import type { RunningEmulator } from "../../lib/local/emulator";
import { createRuntime, type Runtime } from "../../lib/runtime";
import { readSchedulesFile } from "../../lib/schedule/load";
import { startAwsStandin, StandinFault, type AwsStandin } from "../helpers/aws-standin";
import { ROUTING_IDS, startRoutingEmulator } from "../helpers/routing-emulator";
import { serveSqs, stubStandinEnv, type SqsModel } from "../helpers/sqs-standin";

const CONTEXT = { awsRequestId: "schedule-queue-test", functionName: "schedule", getRemainingTimeInMillis: () => 60_000 } as Context;
const SCHEDULES_FILE = "test/fixtures/schedule/schedules.yaml";
const QUEUE_URL = "https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs";
const NIGHTLY = { schedule: "nightly-posture", time: "2026-01-15T18:00:00Z", event_id: "e-1" };

const SSM_PARAMETERS: Record<string, string> = {
  "/secmaster-bridge/test/secmaster/ak": ROUTING_IDS.accessKey,
  "/secmaster-bridge/test/secmaster/sk": ROUTING_IDS.secretKey,
};

// One stand-in for the whole file serves SQS and SSM, because the schedule function's module
// keeps the runtime, and so the queue's client, across tests. process.env points at it.
let standin: AwsStandin;
let sqs: SqsModel;

// Every test points SecMaster at this emulator and checks at the end that no request reached it.
let emulator: RunningEmulator;
/** Queue-mode settings whose SecMaster keys are SSM references, as on Lambda. */
let queueEnv: Record<string, string>;

function serveSsm(): void {
  const parameterOf = (name: string) => ({ Name: name, Type: "SecureString", Value: SSM_PARAMETERS[name], Version: 1 });
  standin.handle("AmazonSSM.GetParameters", (input) => {
    const names = input.Names as string[];
    return {
      Parameters: names.filter((name) => name in SSM_PARAMETERS).map(parameterOf),
      InvalidParameters: names.filter((name) => !(name in SSM_PARAMETERS)),
    };
  });
  standin.handle("AmazonSSM.GetParameter", (input) => {
    const name = String(input.Name);
    if (!(name in SSM_PARAMETERS)) throw new StandinFault("ParameterNotFound", `Parameter ${name} not found.`);
    return { Parameter: parameterOf(name) };
  });
}

beforeAll(async () => {
  standin = await startAwsStandin({ region: "ap-southeast-1" });
  sqs = serveSqs(standin, { queues: [QUEUE_URL] });
  serveSsm();
  stubStandinEnv(standin);
  const started = await startRoutingEmulator();
  emulator = started.emulator;
  queueEnv = {
    ...started.env,
    BRIDGE_MODE: "queue",
    SECMASTER_AK: "ssm:/secmaster-bridge/test/secmaster/ak",
    SECMASTER_SK: "ssm:/secmaster-bridge/test/secmaster/sk",
  };
});
afterEach(() => {
  expect(standin.refused).toEqual([]);
  // A fresh model per test: empty queues, no calls and the model's own handlers back.
  standin.calls.splice(0);
  sqs = serveSqs(standin, { queues: [QUEUE_URL] });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await standin.close();
  expect(emulator.stats().requests).toBe(0);
  await emulator.close();
});

async function receiveAll(queue: LocalQueue): Promise<JobEnvelope[]> {
  const messages = await queue.receive({ maxMessages: 10, visibilityTimeoutMs: 60_000 });
  return messages.map((message) => decodeEnvelope(message.body));
}

describe("schedule function in queue mode", () => {
  let dynamodb: LocalDynamoDB;
  let runtime: Runtime;
  let dataDir: string;
  let queue: LocalQueue;
  let handler: ReturnType<typeof createScheduleHandler>;
  const schedules = readSchedulesFile(SCHEDULES_FILE);

  beforeAll(async () => {
    dynamodb = await startDynalite();
    await ensureIdempotencyTable(dynamodb.endpoint, "schedule-queue-test");
  });
  beforeEach(() => {
    // The full runtime, with a starter and the emulator behind it, shows that queue mode leaves both unused.
    const config = loadConfig({ ...queueEnv, SECMASTER_AK: ROUTING_IDS.accessKey, SECMASTER_SK: ROUTING_IDS.secretKey, BRIDGE_IDEMPOTENCY_TABLE: "schedule-queue-test", BRIDGE_DYNAMODB_ENDPOINT: dynamodb.endpoint });
    dataDir = mkdtempSync(join(tmpdir(), "secmaster-bridge-schedule-queue-"));
    const queues = openLocalQueues(dataDir, 5);
    queue = queues.queue;
    runtime = createRuntime(config, queues);
    handler = createScheduleHandler(() => ({ runtime, schedules }));
  });
  afterEach(async () => {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await dynamodb.close();
  });

  it("enqueues one job and starts nothing", async () => {
    const result = await handler(NIGHTLY, CONTEXT);

    expect(result).toEqual({
      schedule: "nightly-posture",
      scheduled_time: "2026-01-15T18:00:00.000Z",
      action_instance_id: "41440672-9265-5de0-b13c-cc19da30fc68",
      workflow_id: "00000000-0000-4000-8000-00000000f001",
      status: "accepted",
    });
    const envelopes = await receiveAll(queue);
    expect(envelopes).toHaveLength(1);
    const [envelope] = envelopes;
    expect(envelope!.priorAttempts).toBe(0);
    expect(envelope!.job).toMatchObject({
      actionInstanceId: "41440672-9265-5de0-b13c-cc19da30fc68",
      projectId: "0000000000000000000000000000e001",
      workspaceId: "11111111-2222-4333-8444-555555555555",
      workflowId: "00000000-0000-4000-8000-00000000f001",
      dataclass: { id: "dddddddd-0000-4000-8000-000000000001", name: "Alert" },
      source: "schedule",
      alertKey: "nightly-posture",
    });
    expect(envelope!.job.content.title).toBe("Nightly posture review 2026-01-15");
    expect(emulator.instances()).toHaveLength(0);
  });

  it("retried event enqueues the same id", async () => {
    await handler(NIGHTLY, CONTEXT);
    await handler({ ...NIGHTLY, event_id: "e-1" }, CONTEXT);

    const ids = (await receiveAll(queue)).map((envelope) => envelope.job.actionInstanceId);
    expect(ids).toEqual(["41440672-9265-5de0-b13c-cc19da30fc68", "41440672-9265-5de0-b13c-cc19da30fc68"]);
  });

  it("enqueues the schedule's own target", async () => {
    const result = await handler({ schedule: "hourly-sweep", time: "2026-01-15T19:00:00Z" }, CONTEXT);

    expect(result.action_instance_id).toBe("9c80b861-8fec-5d32-a85f-aac885d6e54d");
    const [envelope] = await receiveAll(queue);
    expect(envelope!.job.workspaceId).toBe("11111111-2222-4333-8444-555555555555");
    expect(envelope!.job.workflowId).toBe("aaaaaaaa-0000-4000-8000-000000000005");
    expect(envelope!.job.dataclass).toEqual({ name: "Alert" });
  });

  it("skips a disabled schedule without enqueueing", async () => {
    const result = await handler({ schedule: "paused", time: "2026-01-15T19:05:00Z" }, CONTEXT);

    expect(result.status).toBe("skipped");
    expect(await queue.approximateCount()).toBe(0);
  });

  it("rejects unknown schedules before enqueueing", async () => {
    const failure = await handler({ schedule: "nope", time: "2026-01-15T19:00:00Z" }, CONTEXT).catch((error: unknown) => error);

    expect((failure as BridgeError).code).toBe("BRIDGE.SCHEDULE_UNKNOWN");
    expect(await queue.approximateCount()).toBe(0);
  });

  it("runs without a SecMaster client", async () => {
    const dir = mkdtempSync(join(tmpdir(), "secmaster-bridge-schedule-queue-"));
    const queues = openLocalQueues(dir, 5);
    const ingestRuntime = createIngestRuntime(loadConfig(queueEnv), queues);
    try {
      const ingestHandler = createScheduleHandler(() => ({ runtime: ingestRuntime, schedules }));

      const result = await ingestHandler(NIGHTLY, CONTEXT);

      expect(ingestRuntime.starter).toBeUndefined();
      expect(result.status).toBe("accepted");
      expect((await receiveAll(queues.queue)).map((envelope) => envelope.job.actionInstanceId)).toEqual(["41440672-9265-5de0-b13c-cc19da30fc68"]);
    } finally {
      await ingestRuntime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("schedule function on SQS", () => {
  let runtime: ReturnType<typeof createIngestRuntime>;
  let handler: ReturnType<typeof createScheduleHandler>;

  beforeAll(() => {
    runtime = createIngestRuntime(loadConfig({ ...queueEnv, BRIDGE_QUEUE_URL: QUEUE_URL, AWS_REGION: "ap-southeast-1" }));
    const schedules = readSchedulesFile(SCHEDULES_FILE);
    handler = createScheduleHandler(() => ({ runtime, schedules }));
  });
  afterAll(async () => {
    await runtime.close();
  });

  it("sends one message to the jobs queue", async () => {
    const result = await handler(NIGHTLY, CONTEXT);

    expect(result.status).toBe("accepted");
    const inputs = sqs.inputs("SendMessageBatch");
    expect(inputs).toHaveLength(1);
    expect(inputs[0]!.QueueUrl).toBe(QUEUE_URL);
    const entries = inputs[0]!.Entries as { MessageBody: string }[];
    expect(entries).toHaveLength(1);
    expect(decodeEnvelope(entries[0]!.MessageBody).job.actionInstanceId).toBe("41440672-9265-5de0-b13c-cc19da30fc68");
    expect(sqs.messages(QUEUE_URL)).toHaveLength(1);
  });

  it("throws when SQS is unavailable", async () => {
    standin.handle("AmazonSQS.SendMessageBatch", () => {
      throw new StandinFault("ServiceUnavailable", "Service is unavailable. Try again later.", 503);
    });

    const failure = (await handler(NIGHTLY, CONTEXT).catch((error: unknown) => error)) as BridgeError;

    expect(failure.code).toBe("BRIDGE.QUEUE_UNAVAILABLE");
    expect(failure.message).toBe(
      "failed to enqueue the start job 41440672-9265-5de0-b13c-cc19da30fc68 for schedule nightly-posture at 2026-01-15T18:00:00.000Z: " +
        `failed to call SQS SendMessageBatch on ${QUEUE_URL}: ServiceUnavailable (HTTP 503)`,
    );
    // The client tried three times.
    expect(sqs.inputs("SendMessageBatch")).toHaveLength(3);
  });

  it("throws when SQS rejects the message", async () => {
    sqs.failEntries(() => ({ SenderFault: true, Code: "InvalidMessageContents" }));

    const failure = (await handler(NIGHTLY, CONTEXT).catch((error: unknown) => error)) as BridgeError;

    expect(failure.code).toBe("BRIDGE.ENQUEUE_FAILED");
    expect(failure.message).toContain("SQS rejected the message (InvalidMessageContents)");
  });
});

describe("schedule Lambda handler in queue mode", () => {
  beforeAll(() => {
    const env: Record<string, string> = { ...queueEnv, BRIDGE_QUEUE_URL: QUEUE_URL, BRIDGE_SCHEDULES_FILE: SCHEDULES_FILE, AWS_REGION: "ap-southeast-1" };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });

  it("enqueues without fetching SecMaster keys", async () => {
    const { handler } = await import("../../functions/schedule");

    const result = await handler(NIGHTLY, CONTEXT);

    expect(result.status).toBe("accepted");
    expect(standin.calls.filter((call) => call.service === "ssm")).toEqual([]);
    expect(sqs.inputs("SendMessageBatch")).toHaveLength(1);
  });
});
