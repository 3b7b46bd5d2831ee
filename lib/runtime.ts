import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { BridgeConfig } from "./config";
import { createStarter, type Starter } from "./delivery/start";
import { createIngestRuntime, type IngestRuntime, type RuntimeOverrides } from "./ingest-runtime";
import { logger } from "./logger";
import { countMetric, METRIC } from "./metrics";
import { PerProject, createProjectStarter } from "./routing/projects";
import { SecMasterClient, isDuplicateInstanceError } from "./secmaster/client";

// Moved to the ingest runtime, which the queue-mode ingest function uses alone; kept for importers.
export { checkSourceOptions, loadGenericSources, type RuntimeOverrides } from "./ingest-runtime";

/**
 * Long-lived objects of one Lambda execution environment or one local process: the ingest runtime
 * plus the SecMaster clients and the idempotent starter that start jobs.
 */
export interface Runtime extends IngestRuntime {
  /** Client of `SECMASTER_PROJECT_ID`. */
  client: SecMasterClient;
  /** Clients by project id, for routes that name other projects; `client` is one of them. */
  clients: PerProject<SecMasterClient>;
  /** Starts each job through the client of its project. */
  starter: Starter;
}

/**
 * Builds the runtime from a parsed configuration. Reuse it across invocations.
 *
 * @throws ConfigError in queue mode when neither `BRIDGE_QUEUE_URL` nor an override names a queue.
 */
export function createRuntime(config: BridgeConfig, overrides: RuntimeOverrides = {}): Runtime {
  const base = createIngestRuntime(config, overrides);

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

  const dynamodb = new DynamoDBClient(
    config.idempotency.dynamodbEndpoint === undefined
      ? {}
      : {
          endpoint: config.idempotency.dynamodbEndpoint,
          region: process.env.AWS_REGION ?? "local",
          // dynalite accepts any key pair; these name the local store and grant nothing.
          credentials: { accessKeyId: "dynalite", secretAccessKey: "dynalite" },
        },
  );
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: config.idempotency.tableName,
    awsSdkV3Client: dynamodb,
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
    ...base,
    client,
    clients,
    starter,
    close: async () => {
      for (const projectClient of clients.values()) await projectClient.close();
      dynamodb.destroy();
      await base.close();
    },
  };
}
