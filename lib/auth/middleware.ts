import type middy from "@middy/core";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { BridgeConfig } from "../config";
import { BridgeError, InvalidInputError } from "../errors";
import { problemFromError, type ProblemDetails } from "../http/problem";
import { checkAlertCount, decodeEventBody, decodeUtf8Body, parseFormWithLimits, parseJsonWithLimits } from "../limits";
import { logger } from "../logger";
import { readsCefLines } from "../sources/generic";
import { BUILT_IN_SOURCES, findSource } from "../sources/index";
import type { SourceAdapter } from "../sources/types";
import { authChallenge } from "./challenge";
import { bodyFormatOf, parseTextLines, type BodyFormat } from "./content-type";
import type { InboundAuth } from "./inbound";
import { AuthenticationError, RejectionLog, rejectionReason } from "./rejections";
import { secretValuesOf } from "./secrets";

/** The delivery handed to the ingest step once a request passed every inbound check. */
export interface VerifiedDelivery {
  adapter: SourceAdapter<unknown>;
  /** The parsed body: JSON, or the fields of a form body. */
  body: unknown;
}

/** The parts of the runtime the inbound checks use. */
export interface InboundRuntime {
  config: Pick<BridgeConfig, "ingest">;
  genericSources: Readonly<Record<string, SourceAdapter<unknown>>>;
  inbound: InboundAuth;
}

const deliveries = new WeakMap<object, VerifiedDelivery>();

/**
 * Returns the delivery {@link inboundChecks} verified for this event.
 *
 * @throws BridgeError `BRIDGE.INTERNAL` when the middleware did not run, which is a wiring bug.
 */
export function verifiedDeliveryOf(event: object): VerifiedDelivery {
  const delivery = deliveries.get(event);
  if (delivery === undefined) throw new BridgeError("BRIDGE.INTERNAL", "inbound checks did not run before the ingest handler");
  return delivery;
}

/**
 * Middy middleware that admits a request to `POST /v1/alerts/{source}` before the handler runs.
 * The checks run in this order, each with its status:
 *
 * 1. known source (404) and source-IP allow-list (403);
 * 2. base64 decoding (400) and body size (413);
 * 3. bearer, Basic, path token or HMAC over the raw bytes (401, and the error carries the
 *    source's `WWW-Authenticate` challenge for `challengeHeaders`);
 * 4. content type (415) and UTF-8 (400);
 * 5. JSON or form parsing under the nesting, key and string limits, or for a CEF generic source
 *    `text/plain` lines under the string and alert count limits (400, 413, 422);
 * 6. SNS or SMN message signatures (401, 403).
 *
 * It must run after `loadSecrets`.
 */
export function inboundChecks(runtimeOf: () => InboundRuntime): middy.MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    before: async (request) => {
      const event = request.event;
      const { config, genericSources, inbound } = runtimeOf();
      const limits = config.ingest;

      const sourceId = event.pathParameters?.source ?? "";
      const adapter = findSource(sourceId, genericSources);
      if (adapter === undefined) {
        throw new InvalidInputError("BRIDGE.SOURCE_UNKNOWN", `unknown source ${JSON.stringify(sourceId.slice(0, 64))}`, {
          statusCode: 404,
          field: "path.source",
          // Generic source ids name a deployment's own systems, so an unauthenticated response lists only the built-in ones.
          fix: `post to /v1/alerts/{source} with a built-in source id (${Object.keys(BUILT_IN_SOURCES).sort().join(", ")}) or a generic source id of BRIDGE_GENERIC_MAPPINGS`,
        });
      }
      logger.appendKeys({ source: adapter.id });

      const settings = inbound.settingsFor(adapter.id);
      inbound.checkSourceIp(settings, event.requestContext?.http?.sourceIp);
      const bytes = decodeEventBody(event, limits.maxBodyBytes);
      try {
        inbound.verifyRawRequest(settings, { headers: event.headers, query: event.queryStringParameters, body: bytes }, secretValuesOf(event));

        const format = bodyFormatOf(event.headers, adapter.id, { textLines: readsCefLines(adapter) });
        const text = decodeUtf8Body(bytes);
        const body = parseBody(text, format, limits);
        await inbound.verifyMessage(settings, body, event.headers);

        deliveries.set(event, { adapter: withAlertLimit(adapter, limits.maxAlertsPerDelivery), body });
      } catch (error) {
        if (error instanceof AuthenticationError && settings !== undefined) error.challenge = authChallenge(adapter.id, settings);
        throw error;
      }
    },
  };
}

function parseBody(text: string, format: BodyFormat, limits: InboundRuntime["config"]["ingest"]): unknown {
  if (format === "form") return parseFormWithLimits(text, limits);
  if (format === "json") return parseJsonWithLimits(text, limits);
  const lines = parseTextLines(text, limits.maxStringLength);
  // Each line is one alert, so a body with too many lines is rejected before any is parsed.
  checkAlertCount(lines.length, limits.maxAlertsPerDelivery);
  return lines;
}

// The alert count is known only once the adapter split the delivery, so the check wraps it;
// planning fails before anything is started or enqueued.
function withAlertLimit(adapter: SourceAdapter<unknown>, maxAlertsPerDelivery: number): SourceAdapter<unknown> {
  return {
    ...adapter,
    normalize: (payload, context) => {
      const alerts = adapter.normalize(payload, context);
      checkAlertCount(alerts.length, maxAlertsPerDelivery);
      return alerts;
    },
  };
}

const rejections = new RejectionLog();

/**
 * Turns an error into a problem response and logs it through the rate-limited rejection log with
 * the source, code, reason and request id. The reason of an authentication failure names the
 * failed check. Every other rejection logs the last part of its problem `type` as its reason,
 * such as `payload-invalid` or `body-too-large`.
 */
export function rejectionProblem(error: unknown, event: Partial<APIGatewayProxyEventV2>, requestId: string | undefined): ProblemDetails {
  const problem = problemFromError(error, requestId);
  const source = event.pathParameters?.source?.slice(0, 64);
  const reason = rejectionReason(error) ?? problem.type.slice(problem.type.lastIndexOf(":") + 1);
  // Only the log names the rejected address, and the response still reads "authentication failed".
  const sourceIp = reason === "ip-not-allowed" ? event.requestContext?.http?.sourceIp : undefined;
  rejections.record(problem, { source, reason, error, sourceIp });
  return problem;
}
