import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { localLambdaContext, toSqsRecord } from "../../lib/delivery/poller";
import { encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import { startEmulator, type RunningEmulator } from "../../lib/local/emulator";
import { logger } from "../../lib/logger";
import { dispatchSettings, jobFor, PROJECT_ID, WORKFLOW_ID, WORKSPACE_ID } from "../delivery/harness";

// undici publishes every new connection on this channel.
const CONNECTED = "undici:client:connected";
const CREDENTIALS = { accessKey: "DISPATCHPOOLKEY00001", secretKey: "dispatch-pool-test-secret" };
const TABLE = "dispatch-pool-test-idempotency";

let emulator: RunningEmulator;
let dynamodb: LocalDynamoDB;
// Ports of the connections undici opened while the test ran.
const connectedPorts: string[] = [];
const onConnected = (message: unknown) => {
  connectedPorts.push(String((message as { connectParams: { port: string | number } }).connectParams.port));
};

beforeAll(async () => {
  logger.setLogLevel("SILENT");
  emulator = await startEmulator({
    port: 0,
    projectId: PROJECT_ID,
    credentials: [CREDENTIALS],
    workspaces: [{ workspaceId: WORKSPACE_ID, workflows: [{ id: WORKFLOW_ID, name: "triage", dataclassId: "dc-1", dataclassName: "Alert" }] }],
  });
  dynamodb = await startDynalite();
  await ensureIdempotencyTable(dynamodb.endpoint, TABLE);
  // The Lambda handler reads its settings from the environment on the first invocation.
  const env = dispatchSettings({ emulatorUrl: emulator.url, credentials: CREDENTIALS, dynamodbEndpoint: dynamodb.endpoint, table: TABLE });
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  subscribe(CONNECTED, onConnected);
});

afterAll(async () => {
  unsubscribe(CONNECTED, onConnected);
  vi.unstubAllEnvs();
  logger.setLogLevel("INFO");
  await emulator.close();
  await dynamodb.close();
});

function eventOf(n: number): SQSEvent {
  const message = { messageId: `m-${n}`, receiptHandle: `r-${n}`, body: encodeEnvelope(newEnvelope(jobFor(n))), receiveCount: 1, sentAtMs: Date.now() };
  return { Records: [toSqsRecord(message, "arn:aws:sqs:local:000000000000:jobs")] };
}

describe("dispatch Lambda handler", () => {
  it("reuses one SecMaster connection across invocations", async () => {
    const { handler } = await import("../../functions/dispatch");

    const first = await handler(eventOf(1), localLambdaContext(30_000, "first"));
    const second = await handler(eventOf(2), localLambdaContext(30_000, "second"));
    const third = await handler(eventOf(3), localLambdaContext(30_000, "third"));

    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(third.batchItemFailures).toEqual([]);
    expect(emulator.instances()).toHaveLength(3);
    expect(connectedPorts.filter((port) => port === String(emulator.port))).toHaveLength(1);
  });
});
