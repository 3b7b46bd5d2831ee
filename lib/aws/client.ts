import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import aws4 from "aws4";

/**
 * A small client for the AWS services the functions call: SQS, SSM Parameter Store, Secrets
 * Manager and DynamoDB. All four speak the AWS JSON protocol: a signed `POST /` whose
 * `X-Amz-Target` header names the operation and whose body is the input as JSON.
 *
 * The functions use this instead of the AWS SDK clients because the SDK costs 40 to 130 ms of
 * cold start per client, more than the rest of a function. Requests are signed with Signature
 * Version 4 by the `aws4` package and sent over `node:https` with keep-alive sockets.
 */

/** AWS credentials, as Lambda puts them in the environment from the function's role. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** Returns the credentials to sign the next request with; called once per request. */
export type AwsCredentialsProvider = () => AwsCredentials | Promise<AwsCredentials>;

/** Wire details that differ between the services. */
export interface AwsJsonService {
  /** Name in the signature's credential scope and in the default host name. */
  signingName: string;
  /** Prefix of `X-Amz-Target`, before the dot and the operation name. */
  targetPrefix: string;
  /** Version of the JSON protocol, which is part of the content type. */
  jsonVersion: "1.0" | "1.1";
  /** Suffix of the `AWS_ENDPOINT_URL_*` variable that overrides the endpoint, as the AWS SDKs read it. */
  endpointVariable: string;
}

export const SQS: AwsJsonService = { signingName: "sqs", targetPrefix: "AmazonSQS", jsonVersion: "1.0", endpointVariable: "SQS" };
export const SSM: AwsJsonService = { signingName: "ssm", targetPrefix: "AmazonSSM", jsonVersion: "1.1", endpointVariable: "SSM" };
export const SECRETS_MANAGER: AwsJsonService = { signingName: "secretsmanager", targetPrefix: "secretsmanager", jsonVersion: "1.1", endpointVariable: "SECRETS_MANAGER" };
export const DYNAMODB: AwsJsonService = { signingName: "dynamodb", targetPrefix: "DynamoDB_20120810", jsonVersion: "1.0", endpointVariable: "DYNAMODB" };

/** Settings of an {@link AwsJsonClient}. */
export interface AwsJsonClientOptions {
  service: AwsJsonService;
  /** @default `AWS_REGION`, then `AWS_DEFAULT_REGION` */
  region?: string | undefined;
  /**
   * Base URL such as `http://127.0.0.1:4567`.
   * @default `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the regional endpoint
   */
  endpoint?: string | undefined;
  /** @default the provider of {@link setDefaultCredentialsProvider}, else {@link environmentCredentials} */
  credentials?: AwsCredentialsProvider | undefined;
  /**
   * Attempts per call, the first one included. Throttling, 5xx responses, timeouts and network
   * errors are tried again; other errors are not.
   * @default 3
   */
  maxAttempts?: number | undefined;
  /** Time allowed for one attempt, from sending to the end of the response. @default 5000 */
  timeoutMs?: number | undefined;
  /** Wait before the second attempt; it doubles per attempt and is jittered. @default 100 */
  retryBaseMs?: number | undefined;
  /** Environment to read the defaults from. @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** A failed call: the service's error code, or `TimeoutError` and `NetworkingError` when no response arrived. */
export class AwsServiceError extends Error {
  /** Error code without its namespace, such as `ConditionalCheckFailedException`; also the `name`, as in the AWS SDK. */
  readonly code: string;
  /** HTTP status of the response, or undefined when none arrived. */
  readonly statusCode: number | undefined;
  /** Whether another attempt could succeed. */
  readonly retryable: boolean;
  /** Body of the error response as parsed JSON, for fields such as DynamoDB's `Item`. */
  readonly body: Record<string, unknown> | undefined;
  /** Time of the response's `Date` header, in epoch milliseconds, when it had one. */
  readonly serverTimeMs: number | undefined;

  constructor(
    code: string,
    message: string,
    options: { statusCode?: number | undefined; retryable: boolean; body?: Record<string, unknown> | undefined; serverTimeMs?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.statusCode = options.statusCode;
    this.retryable = options.retryable;
    this.body = options.body;
    this.serverTimeMs = options.serverTimeMs;
  }
}

// Codes the AWS SDKs treat as throttling, whatever the status.
const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "LimitExceededException",
  "RequestThrottled",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
]);

// Codes with which AWS rejects a request whose time is too far from its clock.
const CLOCK_SKEW_CODES = new Set(["RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException", "SignatureDoesNotMatch", "RequestInTheFuture", "AuthFailure"]);

// A smaller difference is left alone: AWS accepts up to 5 minutes, and the Date header has 1 s steps.
const MIN_CLOCK_CORRECTION_MS = 60_000;

// Codes the AWS SDKs treat as transient although the status is 4xx.
const TRANSIENT_CODES = new Set(["RequestTimeout", "RequestTimeoutException"]);

// A larger response is dropped with an error. The largest legitimate one, ten SQS messages, is far below it.
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/**
 * Reads credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
 * which Lambda sets from the function's execution role.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new AwsServiceError(
      "CredentialsProviderError",
      "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them from the function's role)",
      { retryable: false },
    );
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

let processCredentials: AwsCredentialsProvider | undefined;

/**
 * Sets where clients made without a `credentials` option get their credentials in this process,
 * or goes back to the environment with `undefined`. The CLI sets the AWS SDK's credential chain so
 * that profiles and SSO work on a laptop; the Lambda functions keep the environment.
 */
export function setDefaultCredentialsProvider(provider: AwsCredentialsProvider | undefined): void {
  processCredentials = provider;
}

/** Resolves the endpoint a client of `service` uses in `region`, following the AWS SDKs' environment overrides. */
export function resolveEndpoint(service: AwsJsonService, region: string, env: NodeJS.ProcessEnv = process.env): URL {
  const configured = env[`AWS_ENDPOINT_URL_${service.endpointVariable}`] || env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return new URL(`https://${service.signingName}.${region}.${suffix}`);
}

/** Calls the operations of one AWS JSON-protocol service. */
export class AwsJsonClient {
  readonly region: string;
  readonly endpoint: URL;
  readonly #service: AwsJsonService;
  readonly #credentials: AwsCredentialsProvider;
  readonly #maxAttempts: number;
  readonly #timeoutMs: number;
  readonly #retryBaseMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  // Difference between AWS's clock and ours, learnt from a response that rejected our time.
  #clockOffsetMs = 0;

  constructor(options: AwsJsonClientOptions) {
    const env = options.env ?? process.env;
    const region = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new AwsServiceError("ConfigError", "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION)", { retryable: false });
    }
    this.region = region;
    this.endpoint = options.endpoint === undefined ? resolveEndpoint(options.service, region, env) : new URL(options.endpoint);
    this.#service = options.service;
    this.#credentials = options.credentials ?? (() => (processCredentials === undefined ? environmentCredentials(env) : processCredentials()));
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#retryBaseMs = options.retryBaseMs ?? 100;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /**
   * Sends `operation` with `input` and returns the parsed response. `timeoutMs` replaces the
   * client's time per attempt for this call, for a request the service keeps open on purpose, such as an SQS long poll.
   * @throws AwsServiceError when the service returns an error, after the retries.
   */
  async call<Output = Record<string, unknown>>(operation: string, input: object, options: { timeoutMs?: number | undefined } = {}): Promise<Output> {
    const body = JSON.stringify(input);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#attempt(operation, body, timeoutMs)) as Output;
      } catch (error) {
        if (attempt < this.#maxAttempts && this.#correctedClock(error)) continue;
        const retryable = error instanceof AwsServiceError && error.retryable;
        if (!retryable || attempt >= this.#maxAttempts) throw error;
        // Full jitter, as the AWS SDKs do: a random wait up to the doubled base.
        await this.#sleep(Math.random() * this.#retryBaseMs * 2 ** (attempt - 1));
      }
    }
  }

  // Learns the clock offset from a response that rejected the request's time, as the AWS SDKs do,
  // and returns whether the request is worth sending again with the corrected time.
  #correctedClock(error: unknown): boolean {
    if (!(error instanceof AwsServiceError) || error.serverTimeMs === undefined || !CLOCK_SKEW_CODES.has(error.code)) return false;
    const offsetMs = error.serverTimeMs - Date.now();
    if (Math.abs(offsetMs - this.#clockOffsetMs) < MIN_CLOCK_CORRECTION_MS) return false;
    this.#clockOffsetMs = offsetMs;
    return true;
  }

  async #attempt(operation: string, body: string, timeoutMs: number): Promise<unknown> {
    const credentials = await this.#credentials();
    const endpoint = this.endpoint;
    const signed = aws4.sign(
      {
        host: endpoint.host,
        path: endpoint.pathname === "" ? "/" : endpoint.pathname,
        method: "POST",
        service: this.#service.signingName,
        region: this.region,
        headers: {
          "X-Amz-Date": amzDate(Date.now() + this.#clockOffsetMs),
          "Content-Type": `application/x-amz-json-${this.#service.jsonVersion}`,
          "X-Amz-Target": `${this.#service.targetPrefix}.${operation}`,
        },
        body,
      },
      credentials,
    );
    const secure = endpoint.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;

    const { statusCode, errorType, serverDate, text } = await new Promise<{
      statusCode: number;
      errorType: string | undefined;
      serverDate: string | undefined;
      text: string;
    }>((resolve, reject) => {
      const request = send(
        {
          protocol: endpoint.protocol,
          // URL keeps the brackets of an IPv6 address, which the socket layer does not accept.
          hostname: endpoint.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: endpoint.port,
          path: signed.path,
          method: "POST",
          headers: signed.headers as Record<string, string>,
          agent: secure ? httpsAgent : httpAgent,
          signal: AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          const errorType = response.headers["x-amzn-errortype"];
          readBody(response).then(
            (text) =>
              resolve({ statusCode: response.statusCode ?? 0, errorType: Array.isArray(errorType) ? errorType[0] : errorType, serverDate: response.headers.date, text }),
            reject,
          );
        },
      );
      request.on("error", reject);
      request.end(body);
    }).catch((error: unknown) => {
      throw transportError(operation, this.#service, error);
    });

    const parsed = parseJson(text);
    if (statusCode >= 200 && statusCode < 300) {
      if (parsed !== undefined || text.trim() === "") return parsed ?? {};
      // Something other than the service responded, such as a proxy's page. An empty result here
      // would read as "no item" or "no messages", so the call fails and is tried again.
      throw new AwsServiceError("SerializationException", `${operation} failed: the ${statusCode} response is not a JSON object`, { statusCode, retryable: true });
    }
    throw serviceError(operation, statusCode, errorType, parsed, serverDate);
  }
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_RESPONSE_BYTES) {
      response.destroy();
      throw new AwsServiceError("ResponseTooLarge", `the response exceeds ${MAX_RESPONSE_BYTES} bytes`, { statusCode: response.statusCode, retryable: false });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (text === "") return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function transportError(operation: string, service: AwsJsonService, error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
  const code = timedOut ? "TimeoutError" : "NetworkingError";
  const detail = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
  return new AwsServiceError(code, `${service.targetPrefix}.${operation} failed without a response: ${detail}`, { retryable: true, cause: error });
}

// The code comes in `__type` (or `code`) as `namespace#Code`, sometimes with `:detail` appended,
// or only in the `x-amzn-ErrorType` header when the body is empty.
function serviceError(
  operation: string,
  statusCode: number,
  errorType: string | undefined,
  body: Record<string, unknown> | undefined,
  serverDate: string | undefined,
): AwsServiceError {
  let rawType = errorType ?? "";
  if (typeof body?.__type === "string") rawType = body.__type;
  else if (typeof body?.code === "string") rawType = body.code;
  const code = rawType.split("#").pop()!.split(":")[0]! || (statusCode >= 500 ? "InternalServerError" : `Http${statusCode}`);
  const rawMessage = body?.message ?? body?.Message;
  const message = typeof rawMessage === "string" ? rawMessage.slice(0, 300) : `HTTP ${statusCode}`;
  const retryable = statusCode >= 500 || statusCode === 429 || THROTTLING_CODES.has(code) || TRANSIENT_CODES.has(code);
  const serverTimeMs = serverDate === undefined ? Number.NaN : Date.parse(serverDate);
  return new AwsServiceError(code, `${operation} failed: ${code}: ${message}`, {
    statusCode,
    retryable,
    body,
    ...(Number.isFinite(serverTimeMs) ? { serverTimeMs } : {}),
  });
}

/** Formats a time as the basic ISO 8601 form of `X-Amz-Date`, such as `20260115T180000Z`. */
function amzDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[:-]|\.\d{3}/g, "");
}
