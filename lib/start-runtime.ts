import type { BridgeConfig } from "./config";
import { DynamoDBStore } from "./delivery/dynamodb-store";
import type { MessageQueue } from "./delivery/queue";
import { SqsQueue } from "./delivery/sqs";
import { createStarter, type Starter } from "./delivery/start";
import type { RuntimeOverrides } from "./ingest-runtime";
import { logger } from "./logger";
import { countMetric, METRIC } from "./metrics";
import { PerProject, createProjectStarter } from "./routing/projects";
import { SecMasterClient, isDuplicateInstanceError } from "./secmaster/client";

/** The objects that start jobs in SecMaster: one client per project and the idempotent starter. */
export interface StartParts {
  /** Client of `SECMASTER_PROJECT_ID`. */
  client: SecMasterClient;
  /** Clients by project id, for routes that name other projects; `client` is one of them. */
  clients: PerProject<SecMasterClient>;
  /** Starts each job through the client of its project. */
  starter: Starter;
  close(): Promise<void>;
}

/**
 * Runtime of the dispatch function: the configuration, the job queues and the start parts. It
 * leaves out the ingest parts (sources, routing, inbound authentication), so the dispatch bundle
 * does not carry them.
 */
export interface StartRuntime extends StartParts {
  config: BridgeConfig;
  /** Jobs queue, which dispatch uses to delay the retry of a failed job. */
  queue: MessageQueue | undefined;
  /** Queue that dispatch sends failed jobs to with their last error. */
  deadLetters: MessageQueue | undefined;
}

/**
 * Builds the start runtime from a parsed configuration. Reuse it across invocations. The SQS
 * queues make their client on their first request: dispatch only touches them when a job fails.
 */
export function createStartRuntime(config: BridgeConfig, overrides: RuntimeOverrides = {}): StartRuntime {
  const { delivery } = config;
  const queue = delivery.queueUrl === undefined ? overrides.queue : new SqsQueue({ queueUrl: delivery.queueUrl });
  const deadLetters = delivery.deadLetterQueueUrl === undefined ? overrides.deadLetters : new SqsQueue({ queueUrl: delivery.deadLetterQueueUrl });
  const parts = createStartParts(config);
  return {
    ...parts,
    config,
    queue,
    deadLetters,
    close: () => parts.close(),
  };
}

/** Builds the SecMaster clients, the DynamoDB idempotency store and the starter of a configuration. */
export function createStartParts(config: BridgeConfig): StartParts {
  // Every project of a deployment is reached at the same endpoint with the same credentials.
  const clients = new PerProject(
    (projectId) =>
      new SecMasterClient({
        ...(config.secmaster.endpoint === undefined ? {} : { endpoint: config.secmaster.endpoint }),
        ...(config.secmaster.region === undefined ? {} : { region: config.secmaster.region }),
        projectId,
        credentials: config.secmaster.credentials,
        retry: {
          maxAttempts: config.secmaster.maxAttempts,
          deadlineMs: config.secmaster.timeoutMs,
          baseDelayMs: config.secmaster.retryBaseDelayMs,
        },
        timeouts: { headersMs: config.secmaster.attemptTimeoutMs, bodyMs: config.secmaster.attemptTimeoutMs },
        onRetry: (retry) => {
          countMetric(METRIC.retries);
          if (retry.error.httpStatus === 429) countMetric(METRIC.throttles);
          logger.info("retrying SecMaster call", {
            operation: retry.operation,
            attempt: retry.attempt,
            delayMs: retry.delayMs,
            httpStatus: retry.error.httpStatus,
            code: retry.error.errorCode ?? retry.error.code,
          });
        },
      }),
  );
  const client = clients.get(config.secmaster.projectId);

  // The store makes its DynamoDB client on its first request, from these settings.
  const persistenceStore = new DynamoDBStore({
    tableName: config.idempotency.tableName,
    clientOptions:
      config.idempotency.dynamodbEndpoint === undefined
        ? {}
        : {
            endpoint: config.idempotency.dynamodbEndpoint,
            region: process.env.AWS_REGION ?? "local",
            // dynalite accepts any key pair; these name the local store and grant nothing.
            credentials: () => ({ accessKeyId: "dynalite", secretAccessKey: "dynalite" }),
          },
  });

  const starters = new PerProject((projectId) =>
    createStarter({
      client: clients.get(projectId),
      persistenceStore,
      ttlSeconds: config.idempotency.ttlSeconds,
      isDuplicateError: isDuplicateInstanceError,
      finder: config.secmaster.checkAmbiguous ? clients.get(projectId) : undefined,
    }),
  );
  const starter = createProjectStarter(starters);

  return {
    client,
    clients,
    starter,
    close: async () => {
      for (const projectClient of clients.values()) await projectClient.close();
    },
  };
}
