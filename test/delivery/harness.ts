import type { Context } from "aws-lambda";
import { AwsJsonClient, DYNAMODB } from "../../lib/aws/client";
import { DynamoDBStore } from "../../lib/delivery/dynamodb-store";
import type { StartJob } from "../../lib/delivery/job";
import { createStarter, type Starter, type StarterOptions, type WorkflowInstanceCreator } from "../../lib/delivery/start";
import { localLambdaContext } from "../../lib/delivery/poller";
import { ensureIdempotencyTable, startDynalite, type LocalDynamoDB } from "../../lib/local/dynamodb";
import { startEmulator, type FaultSettings, type RunningEmulator } from "../../lib/local/emulator";
import { SecMasterClient, isDuplicateInstanceError } from "../../lib/secmaster/client";

export const PROJECT_ID = "0000000000000000000000000000e001";
export const WORKSPACE_ID = "00000000-0000-4000-8000-00000000a001";
export const WORKFLOW_ID = "00000000-0000-4000-8000-00000000f001";
export const TABLE = "delivery-test-idempotency";
const CREDENTIALS = { accessKey: "DELIVERYTESTKEY00001", secretKey: "delivery-test-secret-0123456789" };

/** The emulator, dynalite and a SecMaster client for delivery tests, all on 127.0.0.1. */
export interface DeliveryHarness {
  emulator: RunningEmulator;
  dynamodb: LocalDynamoDB;
  dynamodbClient: AwsJsonClient;
  client: SecMasterClient;
  /** A DynamoDB idempotency store over dynalite; `subclass` lets a test make a failing one. */
  persistence(subclass?: typeof DynamoDBStore): DynamoDBStore;
  /** A starter over the harness client and a fresh persistence store unless one is given. */
  starter(overrides?: Partial<StarterOptions>): Starter;
  close(): Promise<void>;
}

export async function startDeliveryHarness(options: { faults?: FaultSettings; attemptTimeoutMs?: number } = {}): Promise<DeliveryHarness> {
  const emulator = await startEmulator({
    port: 0,
    projectId: PROJECT_ID,
    credentials: [CREDENTIALS],
    workspaces: [{ workspaceId: WORKSPACE_ID, workflows: [{ id: WORKFLOW_ID, name: "triage", dataclassId: "dc-1", dataclassName: "Alert" }] }],
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  const dynamodb = await startDynalite();
  await ensureIdempotencyTable(dynamodb.endpoint, TABLE);
  const dynamodbClient = new AwsJsonClient({
    service: DYNAMODB,
    endpoint: dynamodb.endpoint,
    region: "local",
    credentials: () => ({ accessKeyId: "dynalite", secretAccessKey: "dynalite" }),
  });
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 2_000;
  const client = new SecMasterClient({
    endpoint: emulator.url,
    projectId: PROJECT_ID,
    credentials: { kind: "aksk", ...CREDENTIALS },
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    timeouts: { headersMs: attemptTimeoutMs, bodyMs: attemptTimeoutMs },
  });

  const persistence = (subclass: typeof DynamoDBStore = DynamoDBStore) => new subclass({ tableName: TABLE, client: dynamodbClient });

  return {
    emulator,
    dynamodb,
    dynamodbClient,
    client,
    persistence,
    starter: (overrides = {}) =>
      createStarter({
        client,
        finder: client,
        persistenceStore: persistence(),
        isDuplicateError: isDuplicateInstanceError,
        ...overrides,
      }),
    close: async () => {
      await emulator.close();
      await client.close();
      await dynamodb.close();
    },
  };
}

/** Builds a start job for alert number `n`, with a distinct `actionInstanceId` per `n`. */
/**
 * Returns the settings of a queue-mode dispatch function that starts jobs in the emulator at
 * `emulatorUrl`, with the idempotency table `table` on `dynamodbEndpoint`.
 */
export function dispatchSettings(options: {
  emulatorUrl: string;
  credentials: { accessKey: string; secretKey: string };
  dynamodbEndpoint: string;
  table: string;
}): Record<string, string> {
  return {
    SECMASTER_ENDPOINT: options.emulatorUrl,
    SECMASTER_PROJECT_ID: PROJECT_ID,
    SECMASTER_WORKSPACE_ID: WORKSPACE_ID,
    SECMASTER_WORKFLOW_ID: WORKFLOW_ID,
    SECMASTER_AK: options.credentials.accessKey,
    SECMASTER_SK: options.credentials.secretKey,
    BRIDGE_MODE: "queue",
    // Never contacted while the jobs succeed, because dispatch then neither delays nor dead-letters them.
    BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/jobs",
    BRIDGE_DYNAMODB_ENDPOINT: options.dynamodbEndpoint,
    BRIDGE_IDEMPOTENCY_TABLE: options.table,
    AWS_REGION: "local",
  };
}

export function jobFor(n: number, overrides: Partial<StartJob> = {}): StartJob {
  const suffix = n.toString(16).padStart(12, "0");
  return {
    actionInstanceId: `5f0c1a2b-0000-4000-8000-${suffix}`,
    projectId: PROJECT_ID,
    workspaceId: WORKSPACE_ID,
    workflowId: WORKFLOW_ID,
    dataclass: { name: "Alert" },
    source: "alertmanager",
    alertKey: `alert-${n}`,
    content: { title: `Test alert ${n}`, severity: "High", first_observed_time: "2026-01-15T08:30:00.000Z" },
    ...overrides,
  };
}

/** Builds a Lambda context whose remaining time counts down from `remainingMs`. */
export function lambdaContext(remainingMs: number, requestId = "test-request"): Context {
  return localLambdaContext(remainingMs, requestId);
}

/** Wraps a creator so that its first `hangingCalls` calls never settle, as in a Lambda environment frozen mid-call. */
export function hangingCreator(inner: WorkflowInstanceCreator, hangingCalls = 1): WorkflowInstanceCreator & { release(): void } {
  let remaining = hangingCalls;
  const pending: (() => void)[] = [];
  return {
    createWorkflowInstance: (input, options) => {
      if (remaining > 0) {
        remaining -= 1;
        return new Promise((_, reject) => pending.push(() => reject(new Error("released by the test"))));
      }
      return inner.createWorkflowInstance(input, options);
    },
    release: () => {
      for (const settle of pending.splice(0)) settle();
    },
  };
}

/** Polls `condition` every 20 ms until it is true or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
