import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { BridgeError } from "../errors";

/** Media type of every error response (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Body of an `application/problem+json` response, with the bridge's extension members. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable error code, such as `BRIDGE.PAYLOAD_INVALID`. */
  code: string;
  /** JSON path of the offending field in the request, when one is known. */
  field?: string;
  /** Change the sender can make so that the request succeeds. */
  fix?: string;
  /** Request id to quote when asking for help. */
  instance?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Returns the problem `type` URI of a code: `BRIDGE.PAYLOAD_INVALID` → `urn:secmaster-bridge:problem:payload-invalid`. */
export function problemType(code: string): string {
  return `urn:secmaster-bridge:problem:${code.replace(/^BRIDGE\./, "").toLowerCase().replace(/_/g, "-")}`;
}

/**
 * Turns an error into a problem response. Details of unexpected errors and of 5xx bridge errors
 * stay in the logs; the sender gets a generic text and the request id.
 */
export function problemFromError(error: unknown, requestId: string | undefined): ProblemDetails {
  if (error instanceof BridgeError && error.statusCode < 500) {
    return {
      type: problemType(error.code),
      title: TITLES[error.statusCode] ?? "Error",
      status: error.statusCode,
      detail: error.message,
      code: error.code,
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(error.fix === undefined ? {} : { fix: error.fix }),
      ...(requestId === undefined ? {} : { instance: requestId }),
    };
  }
  const status = error instanceof BridgeError ? error.statusCode : 500;
  const code = error instanceof BridgeError ? error.code : "BRIDGE.INTERNAL";
  return {
    type: problemType(code),
    title: TITLES[status] ?? "Error",
    status,
    detail: "the bridge could not process the delivery; retry later",
    code,
    fix: "retry with the same body; deliveries are idempotent",
    ...(requestId === undefined ? {} : { instance: requestId }),
  };
}

/** Builds an API Gateway v2 result carrying a problem body. */
export function problemResponse(
  problem: ProblemDetails,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
    body: JSON.stringify(problem),
  };
}
