import type { Pool as UndiciPool } from "undici";
// These modules alone: the package root also loads fetch, WebSocket and the cache stores.
import undiciRequest from "undici/lib/api/api-request.js";
import Pool from "undici/lib/dispatcher/pool.js";
import { SecMasterError } from "../errors";
import type { SecMasterEndpoint } from "./endpoint";
import { parseRetryAfterMs } from "./retry";
import { canonicalQuery, signRequest, type QueryParams } from "./signer";

/**
 * Credentials of the client, in one of two kinds.
 *
 * - `aksk`: permanent or temporary access keys. Requests are signed with SDK-HMAC-SHA256; a
 *   temporary key's `securityToken` is sent as `X-Security-Token` and signed.
 * - `token`: a static IAM token sent as `X-Auth-Token` without a signature. The caller renews it
 *   before it expires (IAM tokens last 24 hours).
 */
export type SecMasterCredentials =
  | { kind: "aksk"; accessKey: string; secretKey: string; securityToken?: string | undefined }
  | { kind: "token"; token: string };

/** Per-attempt network timeouts in milliseconds. */
export interface TransportTimeouts {
  /** Time to open the TCP and TLS connection. */
  connectMs: number;
  /** Time from sending the request to receiving the response headers. */
  headersMs: number;
  /** Maximum pause between two chunks of the response body. */
  bodyMs: number;
}

/** One API call as the transport sends it. */
export interface ApiRequest {
  method: "GET" | "POST";
  /** API path after the endpoint's base path, starting with `/v1/`, already safe to send as is. */
  path: string;
  query?: QueryParams | undefined;
  /** Exact bytes to sign and send; undefined for no body. */
  body?: Buffer | undefined;
}

/** A response with a 2xx status. */
export interface HttpSuccess {
  status: number;
  bodyText: string;
  requestId: string | undefined;
}

/** Result of one attempt: a 2xx response, or the error with the server's `Retry-After` if any. */
export type AttemptOutcome =
  | { ok: true; response: HttpSuccess }
  | { ok: false; error: SecMasterError; retryAfterMs?: number | undefined };

// Sent after signing, so not signed.
const USER_AGENT = "secmaster-bridge/0.1";

// Maximum length of a server error message quoted in our error message.
const MAX_QUOTED_MESSAGE_CHARS = 200;

/**
 * Sends signed requests over one keep-alive undici `Pool` and turns every failure into a
 * `SecMasterError`. It never retries: the client decides that.
 */
export class SecMasterTransport {
  readonly #endpoint: SecMasterEndpoint;
  readonly #projectId: string;
  readonly #credentials: SecMasterCredentials;
  readonly #timeouts: TransportTimeouts;
  readonly #pool: UndiciPool;

  constructor(options: {
    endpoint: SecMasterEndpoint;
    projectId: string;
    credentials: SecMasterCredentials;
    timeouts: TransportTimeouts;
    connections: number;
  }) {
    this.#endpoint = options.endpoint;
    this.#projectId = options.projectId;
    this.#credentials = options.credentials;
    this.#timeouts = options.timeouts;
    this.#pool = new Pool(options.endpoint.origin, {
      connections: options.connections,
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
    });
  }

  /**
   * Builds the headers of one attempt. `content-type: application/json` and `X-Project-Id` are
   * sent and signed on every call, GETs included, as the official Node SDK does.
   */
  buildHeaders(request: ApiRequest, now: Date): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "X-Project-Id": this.#projectId,
    };
    let sent: Record<string, string>;
    if (this.#credentials.kind === "aksk") {
      if (this.#credentials.securityToken !== undefined) headers["X-Security-Token"] = this.#credentials.securityToken;
      const signable = {
        method: request.method,
        url: this.#endpoint.url + request.path,
        query: request.query,
        headers,
        body: request.body,
      };
      const { accessKey, secretKey } = this.#credentials;
      sent = signRequest(signable, { accessKey, secretKey }, now);
    } else {
      sent = { ...headers, "X-Auth-Token": this.#credentials.token };
    }
    sent.accept = "application/json";
    sent["user-agent"] = USER_AGENT;
    return sent;
  }

  /**
   * Sends one attempt, signed with `now` as `X-Sdk-Date`. Resolves with the outcome and never
   * rejects for HTTP or network failures. `failure` names the operation for error messages.
   */
  async send(
    request: ApiRequest,
    options: { now: Date; failure: string; signal?: AbortSignal | undefined },
  ): Promise<AttemptOutcome> {
    const query = canonicalQuery(request.query);
    const path = this.#endpoint.basePath + request.path + (query === "" ? "" : `?${query}`);
    let status: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let bodyText: string;
    try {
      const response = await undiciRequest.call(this.#pool, {
        method: request.method,
        path,
        headers: this.buildHeaders(request, options.now),
        body: request.body ?? null,
        signal: options.signal ?? null,
      });
      status = response.statusCode;
      responseHeaders = response.headers;
      bodyText = await response.body.text();
    } catch (error) {
      return { ok: false, error: this.#networkError(error, options.failure) };
    }

    const requestId = firstHeader(responseHeaders["x-request-id"]);
    if (status >= 200 && status < 300) return { ok: true, response: { status, bodyText, requestId } };
    return {
      ok: false,
      error: httpError(status, bodyText, requestId, options.failure),
      retryAfterMs: parseRetryAfterMs(firstHeader(responseHeaders["retry-after"]), options.now),
    };
  }

  /** Closes the pool after the requests in flight finish. */
  async close(): Promise<void> {
    if (!this.#pool.closed) await this.#pool.close();
  }

  #networkError(error: unknown, failure: string): SecMasterError {
    const code = errorCode(error);
    const kind = classifyNetworkError(code);
    return new SecMasterError(`${failure}: ${this.#describeNetworkError(code)}`, {
      httpStatus: 0,
      retryable: kind !== "permanent",
      ambiguous: kind !== "not-sent",
      cause: error,
    });
  }

  #describeNetworkError(code: string | undefined): string {
    switch (code) {
      case "UND_ERR_CONNECT_TIMEOUT":
        return `connecting to SecMaster timed out after ${this.#timeouts.connectMs} ms`;
      case "UND_ERR_HEADERS_TIMEOUT":
        return `timed out after ${this.#timeouts.headersMs} ms waiting for the response headers`;
      case "UND_ERR_BODY_TIMEOUT":
        return `timed out after ${this.#timeouts.bodyMs} ms reading the response body`;
      case "ECONNREFUSED":
        return "SecMaster refused the connection (ECONNREFUSED)";
      case "ECONNRESET":
      case "UND_ERR_SOCKET":
        return `the connection was closed before a complete response arrived (${code})`;
      case undefined:
        return "the request failed without an error code";
      default:
        return `the request failed (${code})`;
    }
  }
}

/**
 * Splits network failures into three kinds. `not-sent`: the connection never opened, so the
 * request cannot have reached SecMaster. `in-flight`: the request may have been written before
 * the failure. `permanent`: retrying cannot help (TLS certificate problems, invalid arguments,
 * closed client) and the outcome is treated as ambiguous because the code does not tell.
 */
function classifyNetworkError(code: string | undefined): "not-sent" | "in-flight" | "permanent" {
  if (code === undefined) return "permanent";
  if (NOT_SENT_CODES.has(code)) return "not-sent";
  if (IN_FLIGHT_CODES.has(code)) return "in-flight";
  return "permanent";
}

const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const IN_FLIGHT_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 3; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Error fields found in a SecMaster or API gateway error body. */
export interface ErrorBodyFields {
  errorCode: string | undefined;
  errorMessage: string | undefined;
  requestId: string | undefined;
}

/**
 * Reads the error fields of a response body in either shape Huawei Cloud uses: the gateway's
 * `{error_code, error_msg, request_id}` or SecMaster's `{code, message}`, and also a nested
 * `{error: {code, message}}`. Fields that are absent, or a body that is not JSON, give undefined.
 */
export function parseErrorBody(bodyText: string): ErrorBodyFields {
  const fields: ErrorBodyFields = { errorCode: undefined, errorMessage: undefined, requestId: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return fields;
  }
  if (!isRecord(parsed)) return fields;

  const nested = isRecord(parsed.error) ? parsed.error : {};
  fields.errorCode = scalarText(parsed.error_code) ?? scalarText(parsed.code) ?? scalarText(nested.code);
  fields.errorMessage = scalarText(parsed.error_msg) ?? scalarText(parsed.message) ?? scalarText(nested.message);
  fields.requestId = scalarText(parsed.request_id);
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

/**
 * Builds the error for a non-2xx response. 429 and 5xx are retryable. A 5xx other than 501 and 503
 * is also ambiguous, because the service may have acted before it failed.
 */
function httpError(
  status: number,
  bodyText: string,
  headerRequestId: string | undefined,
  failure: string,
): SecMasterError {
  const fields = parseErrorBody(bodyText);
  const requestId = headerRequestId ?? fields.requestId;
  let summary = `SecMaster returned ${status}`;
  if (fields.errorCode !== undefined) summary += ` ${fields.errorCode}`;
  if (fields.errorMessage !== undefined) summary += ` (${truncate(fields.errorMessage, MAX_QUOTED_MESSAGE_CHARS)})`;
  if (requestId !== undefined) summary += `, request id ${requestId}`;

  return new SecMasterError(`${failure}: ${summary}`, {
    httpStatus: status,
    errorCode: fields.errorCode,
    errorMessage: fields.errorMessage,
    requestId,
    retryable: status === 429 || status >= 500,
    ambiguous: status >= 500 && status !== 501 && status !== 503,
  });
}

function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`;
}
