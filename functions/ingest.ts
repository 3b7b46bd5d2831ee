import { Buffer } from "node:buffer";
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { loadConfig } from "../lib/config";
import { enqueueDelivery } from "../lib/delivery/enqueue";
import { InvalidInputError } from "../lib/errors";
import { problemFromError, problemResponse, problemType } from "../lib/http/problem";
import { ingestDelivery, parseJsonBody, type AlertResult } from "../lib/ingest";
import { logger } from "../lib/logger";
import { countDeliveryResults, metrics } from "../lib/metrics";
import { createRuntime, type Runtime } from "../lib/runtime";
import { findSource } from "../lib/sources/index";

let runtime: Runtime | undefined;

/** Returns the runtime of this execution environment, built from the environment on first use. */
export function getRuntime(): Runtime {
  runtime ??= createRuntime(loadConfig());
  return runtime;
}

/** Drops the cached runtime; the local server calls it on shutdown. */
export async function resetRuntime(): Promise<void> {
  const current = runtime;
  runtime = undefined;
  await current?.close();
}

async function handleIngest(
  event: APIGatewayProxyEventV2,
  context: Context,
  runtimeOf: () => Runtime,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { config, starter, target, genericSources, routing, queue } = runtimeOf();
  starter.registerLambdaContext(context);

  const sourceId = event.pathParameters?.source ?? "";
  const adapter = findSource(sourceId, genericSources);
  if (adapter === undefined) {
    throw new InvalidInputError("BRIDGE.SOURCE_UNKNOWN", `unknown source ${JSON.stringify(sourceId.slice(0, 64))}`, {
      statusCode: 404,
      field: "path.source",
      fix: "post to /v1/alerts/{source} with a source id listed in the README",
    });
  }
  logger.appendKeys({ source: adapter.id });

  const raw = readBody(event, config.ingest.maxBodyBytes);
  const body = parseJsonBody(raw);
  const routes = await routing.table();
  const request = { adapter, body, receivedAt: new Date() };
  const { mode } = config.delivery;
  const results =
    mode === "queue"
      ? await enqueueDelivery(request, { target, routes, queue: queue!, defaultSeverity: config.ingest.defaultSeverity })
      : await ingestDelivery(request, {
          target,
          routes,
          starter,
          defaultSeverity: config.ingest.defaultSeverity,
          dispatchConcurrency: config.ingest.dispatchConcurrency,
        });
  logDelivery(results);
  countDeliveryResults(results, mode);
  return mode === "queue" ? answerQueued(results, context.awsRequestId) : answer(results, context.awsRequestId);
}

function readBody(event: APIGatewayProxyEventV2, maxBodyBytes: number): string {
  const bytes = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  if (bytes.length > maxBodyBytes) {
    throw new InvalidInputError("BRIDGE.BODY_TOO_LARGE", `request body is ${bytes.length} bytes; the limit is ${maxBodyBytes}`, {
      statusCode: 413,
      field: "(body)",
      fix: "split the delivery (for Alertmanager lower max_alerts) or raise BRIDGE_MAX_BODY_BYTES",
    });
  }
  return bytes.toString("utf8");
}

function logDelivery(results: readonly AlertResult[]): void {
  const counts = { created: 0, duplicate: 0, accepted: 0, skipped: 0, failed: 0 };
  for (const result of results) counts[result.status] += 1;
  logger.info("delivery processed", { alerts: results.length, ...counts });
}

// Any failed alert makes the whole answer retryable, so the sender re-sends the delivery; the
// alerts that did start are reported as duplicates on the next attempt.
function answer(results: AlertResult[], requestId: string): APIGatewayProxyStructuredResultV2 {
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length === 0) {
    return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ results }) };
  }
  return problemResponse(
    {
      type: "urn:secmaster-bridge:problem:start-failed",
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

// Queue mode answers 202 once every job is enqueued. A job the queue did not take makes the whole
// answer retryable (503) unless every failure is permanent (a job too large for the queue, 422);
// the sender's retry re-enqueues accepted jobs too, and dispatch starts each episode only once.
function answerQueued(results: AlertResult[], requestId: string): APIGatewayProxyStructuredResultV2 {
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length === 0) {
    return { statusCode: 202, headers: { "content-type": "application/json" }, body: JSON.stringify({ results }) };
  }
  const retryable = failed.some((result) => result.code !== "BRIDGE.JOB_TOO_LARGE");
  return problemResponse(
    {
      type: problemType(retryable ? "BRIDGE.ENQUEUE_FAILED" : "BRIDGE.JOB_TOO_LARGE"),
      title: retryable ? "Service Unavailable" : "Unprocessable Content",
      status: retryable ? 503 : 422,
      detail: `${failed.length} of ${results.length} alerts could not be queued`,
      code: retryable ? "BRIDGE.ENQUEUE_FAILED" : "BRIDGE.JOB_TOO_LARGE",
      fix: retryable
        ? "retry the delivery later; alerts already queued are not started twice"
        : "shorten the alerts' descriptions or labels at the sender; the queue limit is 256 KiB per alert",
      instance: requestId,
      results,
    },
    retryable ? { "retry-after": "30" } : {},
  );
}

/** Middy middleware that answers every thrown error with `application/problem+json`. */
function problemErrors(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      const problem = problemFromError(request.error, request.context.awsRequestId);
      const log = problem.status >= 500 ? logger.error.bind(logger) : logger.warn.bind(logger);
      log("delivery rejected", { status: problem.status, code: problem.code, field: problem.field, error: problem.status >= 500 ? request.error : undefined });
      request.response = problemResponse(problem);
    },
  };
}

/**
 * Builds the ingest handler over a runtime provider. The local server and the tests pass their own
 * runtime; Lambda uses the one built from the environment.
 */
export function createIngestHandler(runtimeOf: () => Runtime) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(problemErrors())
    .handler((event, context) => handleIngest(event, context, runtimeOf));
}

/** Lambda handler for `POST /v1/alerts/{source}` (API Gateway HTTP API, payload format 2.0). */
export const handler = createIngestHandler(getRuntime);
