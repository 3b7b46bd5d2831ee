import { setMaxListeners } from "node:events";
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadSecrets } from "../lib/auth/secrets";
import type { BridgeConfig } from "../lib/config";
import { dispatchRecords, type DispatchDependencies } from "../lib/delivery/dispatch";
import { logger } from "../lib/logger";
import { metrics } from "../lib/metrics";
import type { StartRuntime } from "../lib/start-runtime";
import { getConfig, getStartRuntime } from "./start-runtime";

/** Settings of {@link createDispatchHandler}. */
export interface DispatchHandlerOptions {
  /**
   * How long before the function timeout Middy aborts the SecMaster calls in flight and the
   * handler returns, in milliseconds. Jobs that have not finished by then are reported as failed.
   * @default 5000
   */
  earlyTimeoutMs?: number;
  /**
   * Configuration whose `ssm:` and `secretsmanager:` SecMaster credentials are fetched before
   * each invocation, as the other functions do. Local runs pass none: their keys are plain values.
   */
  configOf?: () => BridgeConfig;
}

// Middy's early-timeout response, which the `after` middleware replaces with the partial batch response.
const TIMED_OUT = Symbol("dispatch timed out");

/** Ids of the records of one invocation, and which of them finished without needing a retry. */
interface BatchProgress {
  messageIds: string[];
  finished: Set<string>;
}

/**
 * Builds the SQS handler over a provider of its dependencies. It starts each record's job through
 * the idempotent starter and returns partial batch failures (`ReportBatchItemFailures`):
 * `batchItemFailures` lists exactly the records that must be received again.
 *
 * Middy's early timeout aborts the SecMaster calls `earlyTimeoutMs` before the function timeout,
 * through the abort signal it passes to the handler. The handler then returns every record
 * that has not finished, so a slow call never turns into a Lambda timeout that fails the whole
 * batch. The idempotency in-progress lock of an aborted call expires with the invocation, because
 * the Lambda context is registered with the starter.
 */
export function createDispatchHandler(depsOf: () => DispatchDependencies, options: DispatchHandlerOptions = {}) {
  const progress = new WeakMap<Context, BatchProgress>();

  const reportUnfinishedOnTimeout: middy.MiddlewareObj<SQSEvent, SQSBatchResponse> = {
    after: (request) => {
      if ((request.response as unknown) !== TIMED_OUT) return;
      const batch = progress.get(request.context);
      const unfinished = (batch?.messageIds ?? request.event.Records.map((record) => record.messageId)).filter((id) => batch?.finished.has(id) !== true);
      logger.error("dispatch stopped before the function timeout, unfinished jobs will be retried", {
        records: request.event.Records.length,
        unfinished: unfinished.length,
      });
      request.response = { batchItemFailures: unfinished.map((itemIdentifier) => ({ itemIdentifier })) };
    },
  };

  const handler = middy<SQSEvent, SQSBatchResponse>({
    timeoutEarlyInMillis: options.earlyTimeoutMs ?? 5_000,
    timeoutEarlyResponse: () => TIMED_OUT as unknown as SQSBatchResponse,
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(reportUnfinishedOnTimeout);
  const { configOf } = options;
  if (configOf !== undefined) {
    // SecMaster keys stored in SSM or Secrets Manager are fetched before the runtime is built.
    // The senders' secrets are left out: only ingest checks them.
    handler.use(loadSecrets({ authOf: () => ({ ...configOf().auth, sources: {} }), secmasterOf: () => configOf().secmaster.credentials }));
  }
  return handler.handler(async (event, context, { signal }) => {
    // Every SecMaster call in flight listens on this one signal (Middy shares it across
    // invocations), so Node's default of 10 listeners would print a false leak warning.
    setMaxListeners(0, signal);
    const deps = depsOf();
    deps.starter.registerLambdaContext(context);
    const batch: BatchProgress = { messageIds: event.Records.map((record) => record.messageId), finished: new Set() };
    progress.set(context, batch);

    const records = event.Records.map((record) => ({
      messageId: record.messageId,
      receiptHandle: record.receiptHandle,
      body: record.body,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
    }));
    const failed = await dispatchRecords(records, deps, {
      signal,
      onSettled: (messageId, outcome) => {
        if (outcome !== "retry") batch.finished.add(messageId);
      },
    });
    logger.info("batch dispatched", { records: records.length, failed: failed.length });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
}

/** Maps a runtime (the start runtime, or the full one of a local run) to what dispatch needs. */
export function dispatchDependencies(runtime: StartRuntime): DispatchDependencies {
  const { delivery } = runtime.config;
  return {
    starter: runtime.starter,
    queue: runtime.queue,
    deadLetters: runtime.deadLetters,
    maxReceives: delivery.maxReceives,
    concurrency: runtime.config.ingest.dispatchConcurrency,
    retryBaseDelayMs: delivery.retryBaseDelayMs,
    retryMaxDelayMs: delivery.retryMaxDelayMs,
  };
}

let lambdaHandler: ReturnType<typeof createDispatchHandler> | undefined;

/**
 * Lambda handler of the SQS event source of the jobs queue. The Middy handler is built on the
 * first invocation, after the configuration that sets its early timeout has been read.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  lambdaHandler ??= createDispatchHandler(() => dispatchDependencies(getStartRuntime()), {
    earlyTimeoutMs: getConfig().delivery.earlyTimeoutMs,
    configOf: getConfig,
  });
  return lambdaHandler(event, context);
}
