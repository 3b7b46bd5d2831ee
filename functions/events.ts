import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Context } from "aws-lambda";
import { loadSecrets } from "../lib/auth/secrets";
import type { BridgeConfig } from "../lib/config";
import { BridgeError, InvalidInputError } from "../lib/errors";
import { startsDeadline } from "../lib/delivery/deadline";
import { deliverRequest } from "../lib/delivery/deliver";
import { transientFailureCount } from "../lib/delivery/outcome";
import type { AlertResult } from "../lib/ingest";
import { logger } from "../lib/logger";
import { countDeliveryResults, metrics } from "../lib/metrics";
import type { Runtime } from "../lib/runtime";
import { adapterForAwsEvent } from "../lib/sources/aws";
import { findSource } from "../lib/sources/index";
import { getConfig, getRuntime } from "./runtime";
import { yamlFilesOnDemand } from "./config";

/** Summary the function returns to Lambda; EventBridge and SNS ignore it, tests read it. */
export interface EventsResult {
  source: string;
  results: AlertResult[];
}

async function handleAwsEvent(event: unknown, context: Context, runtimeOf: () => Runtime): Promise<EventsResult> {
  const runtime = runtimeOf();
  const { config } = runtime;
  runtime.starter.registerLambdaContext(context);

  const match = adapterForAwsEvent(event);
  const adapter = match === undefined ? undefined : findSource(match.source);
  if (match === undefined || adapter === undefined) {
    // Retrying cannot help an event no adapter understands, and the rule or subscription that sent
    // it needs changing. The failed invocation takes it to the dead-letter queue, where its alarm
    // fires and `secmaster-bridge redrive --drop-unplannable` deletes it.
    logger.error("event not recognised; check the EventBridge rule or SNS subscription that targets this function", {
      code: "BRIDGE.EVENT_UNKNOWN",
    });
    throw new InvalidInputError("BRIDGE.EVENT_UNKNOWN", "event is not a GuardDuty, Security Hub or CloudWatch event or SNS notification");
  }
  logger.appendKeys({ source: adapter.id });

  const { mode } = config.delivery;
  const request = {
    adapter,
    body: match.payload,
    receivedAt: new Date(),
    options: config.ingest.sourceOptions[adapter.id],
    ...(mode === "direct" ? { signal: startsDeadline(context) } : {}),
  };
  const outcome = await deliverRequest(request, runtime);
  countDeliveryResults(outcome.results, mode);
  const { results, permanentFailures } = outcome;
  const failed = results.filter((result) => result.status === "failed");
  const deadLettered = results.filter((result) => result.status === "dead-lettered").length;
  logger.info("event processed", { mode, alerts: results.length, failed: failed.length, deadLettered });
  if (transientFailureCount(outcome) > 0) {
    // A thrown error makes EventBridge and SNS deliver the event again; alerts that did start
    // are then reported as duplicates.
    throw new BridgeError("BRIDGE.START_FAILED", `${failed.length} of ${results.length} alerts could not be started or queued; the event will be retried`, {
      statusCode: 502,
    });
  }
  if (permanentFailures.length > 0) {
    // A retry cannot help, but failing the invocation lets Lambda's own retries and any
    // on-failure destination keep the event until the cause is fixed. The fix is logged.
    const [first] = permanentFailures;
    const code = mode === "queue" ? "BRIDGE.JOB_TOO_LARGE" : "BRIDGE.START_REJECTED";
    logger.error("event alerts rejected in a way a retry does not fix", { code, failed: failed.length, field: first!.field, fix: first!.fix });
    throw new BridgeError(code, `${permanentFailures.length} of ${results.length} alerts were rejected in a way a retry does not fix: ${first!.fix}`, {
      statusCode: mode === "queue" ? 422 : 502,
      field: first!.field,
      fix: first!.fix,
    });
  }
  return { source: adapter.id, results };
}

/** Builds the handler over a runtime provider, as `createIngestHandler` does. */
export function createEventsHandler(runtimeOf: () => Runtime, configOf: () => BridgeConfig = () => runtimeOf().config) {
  return middy<unknown, EventsResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    // Publishes the invocation's metrics also when it fails, so retries and dead letters count.
    .use(logMetrics(metrics))
    .use(yamlFilesOnDemand)
    // SecMaster keys stored in SSM or Secrets Manager are fetched before the runtime is built.
    .use(loadSecrets({ authOf: () => configOf().auth, secmasterOf: () => configOf().secmaster.credentials }))
    .handler((event, context) => handleAwsEvent(event, context, runtimeOf));
}

/**
 * Lambda handler for AWS-native senders: EventBridge rules (GuardDuty, Security Hub, CloudWatch
 * alarm state changes) and SNS topics, through the same adapters and pipeline as HTTP deliveries.
 */
export const handler = createEventsHandler(getRuntime, getConfig);
