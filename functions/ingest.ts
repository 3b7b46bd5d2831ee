import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { inboundChecks, rejectionProblem, verifiedDeliveryOf } from "../lib/auth/middleware";
import { challengeHeaders } from "../lib/auth/rejections";
import { loadSecrets } from "../lib/auth/secrets";
import type { BridgeConfig } from "../lib/config";
import { startsDeadline } from "../lib/delivery/deadline";
import { deliverRequest, type DeliveryOutcome } from "../lib/delivery/deliver";
import { transientFailureCount } from "../lib/delivery/outcome";
import { problemResponse, problemType } from "../lib/http/problem";
import type { AlertResult } from "../lib/ingest";
import { createIngestRuntime, type IngestRuntime } from "../lib/ingest-runtime";
import { logger } from "../lib/logger";
import { METRIC, countDeliveryResults, countMetric, metrics } from "../lib/metrics";
import { getConfig, yamlFilesOnDemand } from "./config";

// This module imports no SecMaster client, so that the bundle of the queue-mode ingest function
// stays small. Direct mode on Lambda uses functions/ingest-direct.ts, which adds the full runtime.
export { getConfig } from "./config";

let ingestRuntime: IngestRuntime | undefined;

/**
 * Returns the ingest runtime of this execution environment, built on first use. It needs no
 * SecMaster credentials, so a rotated SecMaster key does not rebuild it.
 */
export function getIngestRuntime(): IngestRuntime {
  ingestRuntime ??= createIngestRuntime(getConfig());
  return ingestRuntime;
}

/** Drops the cached ingest runtime. */
export async function resetRuntime(): Promise<void> {
  const current = ingestRuntime;
  ingestRuntime = undefined;
  await current?.close();
}

async function handleIngest(
  event: APIGatewayProxyEventV2,
  context: Context,
  runtimeOf: () => IngestRuntime,
): Promise<APIGatewayProxyStructuredResultV2> {
  const runtime = runtimeOf();
  const { config } = runtime;
  runtime.starter?.registerLambdaContext(context);

  // Source lookup, authentication, limits and parsing ran in the inboundChecks middleware.
  const { adapter, body } = verifiedDeliveryOf(event);
  const { mode } = config.delivery;
  const request = {
    adapter,
    body,
    receivedAt: new Date(),
    options: config.ingest.sourceOptions[adapter.id],
    ...(mode === "direct" ? { signal: startsDeadline(context) } : {}),
  };
  const outcome = await deliverRequest(request, runtime);
  logDelivery(outcome.results);
  countDeliveryResults(outcome.results, mode);
  return mode === "queue" ? answerQueued(outcome, context.awsRequestId) : answer(outcome, context.awsRequestId);
}

function logDelivery(results: readonly AlertResult[]): void {
  const counts = { created: 0, duplicate: 0, accepted: 0, skipped: 0, failed: 0, "dead-lettered": 0 };
  for (const result of results) counts[result.status] += 1;
  // One result per alert and workflow, and one per skipped alert.
  logger.info("delivery processed", { results: results.length, ...counts });
}

// Direct mode returns 200 when every alert started (or was skipped), and 202 when some went to the
// dead-letter queue instead, because those are stored but not started yet. A transient failure
// makes the whole response retryable (502 with Retry-After), so the sender re-sends the delivery.
// Alerts that did start are reported as duplicates then. A rejection that no retry fixes and that
// no dead-letter queue kept is a 502 too, without Retry-After. The sender keeps the alert while
// its retries fail, and the fix names the setting to correct.
function answer(outcome: DeliveryOutcome, requestId: string): APIGatewayProxyStructuredResultV2 {
  const { results, permanentFailures } = outcome;
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length === 0) {
    const deadLettered = results.some((result) => result.status === "dead-lettered");
    return { statusCode: deadLettered ? 202 : 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ results }) };
  }
  if (transientFailureCount(outcome) > 0) {
    return problemResponse(
      {
        type: problemType("BRIDGE.START_FAILED"),
        title: "Bad Gateway",
        status: 502,
        detail: `${failed.length} of ${results.length} alerts could not be started in SecMaster`,
        code: "BRIDGE.START_FAILED",
        fix: "retry the delivery later; alerts already started are not started twice",
        instance: requestId,
        results,
      },
      { "retry-after": "30" },
    );
  }
  const [first] = permanentFailures;
  const codes = [...new Set(failed.map((result) => result.code ?? "(none)"))].join(", ");
  return problemResponse({
    type: problemType("BRIDGE.START_REJECTED"),
    title: "Bad Gateway",
    status: 502,
    detail: `SecMaster rejected ${failed.length} of ${results.length} alerts (${codes}) in a way a retry does not fix, and no dead-letter queue kept them`,
    code: "BRIDGE.START_REJECTED",
    field: first!.field,
    fix: first!.fix,
    instance: requestId,
    results,
  });
}

// Queue mode returns 202 once every job is enqueued. A job the queue did not take makes the whole
// response retryable (503) unless every failure is permanent (a job too large for the queue even
// after its text was shortened, 422). The sender's retry re-enqueues accepted jobs too, and
// dispatch starts each episode only once.
function answerQueued(outcome: DeliveryOutcome, requestId: string): APIGatewayProxyStructuredResultV2 {
  const { results, permanentFailures } = outcome;
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length === 0) {
    return { statusCode: 202, headers: { "content-type": "application/json" }, body: JSON.stringify({ results }) };
  }
  const detail = `${failed.length} of ${results.length} alerts could not be queued`;
  if (transientFailureCount(outcome) > 0) {
    return problemResponse(
      {
        type: problemType("BRIDGE.ENQUEUE_FAILED"),
        title: "Service Unavailable",
        status: 503,
        detail,
        code: "BRIDGE.ENQUEUE_FAILED",
        fix: "retry the delivery later; alerts already queued are not started twice",
        instance: requestId,
        results,
      },
      { "retry-after": "30" },
    );
  }
  const [first] = permanentFailures;
  return problemResponse({
    type: problemType("BRIDGE.JOB_TOO_LARGE"),
    title: "Unprocessable Content",
    status: 422,
    detail,
    code: "BRIDGE.JOB_TOO_LARGE",
    field: first!.field,
    fix: first!.fix,
    instance: requestId,
    results,
  });
}

/** Middy middleware that turns every thrown error into an `application/problem+json` response. */
function problemErrors(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      // Logged with the source, code and reason, rate-limited per kind of rejection.
      const problem = rejectionProblem(request.error, request.event, request.context.awsRequestId);
      countMetric(problem.status >= 500 ? METRIC.deliveryErrors : METRIC.deliveriesRejected);
      request.response = problemResponse(problem, challengeHeaders(request.error));
    },
  };
}

/**
 * Builds the ingest handler over a runtime provider. The local server and the tests pass their own
 * runtime; Lambda uses the one built from the environment. `configOf` names the secrets to fetch
 * before the runtime is built. Direct mode needs a runtime with a starter, such as the full
 * runtime of `lib/runtime.ts`.
 */
export function createIngestHandler(runtimeOf: () => IngestRuntime, configOf: () => BridgeConfig = () => runtimeOf().config) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(problemErrors())
    .use(yamlFilesOnDemand)
    .use(loadSecrets({ authOf: () => configOf().auth, secmasterOf: () => configOf().secmaster.credentials }))
    .use(inboundChecks(runtimeOf))
    .handler((event, context) => handleIngest(event, context, runtimeOf));
}

/**
 * Lambda handler for `POST /v1/alerts/{source}` (API Gateway HTTP API, payload format 2.0) in
 * queue mode. In direct mode it rejects every delivery; use `functions/ingest-direct.handler`.
 */
export const handler = createIngestHandler(getIngestRuntime, getConfig);
