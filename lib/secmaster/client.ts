import * as z from "zod";
import { BridgeError, ConfigError, InvalidInputError, SecMasterError } from "../errors";
import { resolveEndpoint, type SecMasterEndpoint } from "./endpoint";
import { DEFAULT_RETRY_POLICY, backoffDelayMs, sleepWithSignal, type RetryOptions, type RetryPolicy } from "./retry";
import {
  createWorkflowInstanceRequestSchema,
  createWorkflowInstanceResponseSchema,
  listWorkflowInstancesQuerySchema,
  listWorkflowInstancesResponseSchema,
  showWorkflowResponseSchema,
  type CreateWorkflowInstanceRequest,
  type CreateWorkflowInstanceResponse,
  type ListWorkflowInstancesQuery,
  type WorkflowInfo,
  type WorkflowInstance,
} from "./schemas";
import {
  SecMasterTransport,
  type ApiRequest,
  type HttpSuccess,
  type SecMasterCredentials,
  type TransportTimeouts,
} from "./transport";

export type { SecMasterCredentials, TransportTimeouts } from "./transport";
export type { RetryOptions } from "./retry";

/** Name of a SecMaster API operation, as passed to `onRetry`. */
export type SecMasterOperation = "CreateWorkflowInstance" | "ShowWorkflow" | "ListWorkflowInstances";

/** Details passed to `onRetry` before the client waits for the next attempt. */
export interface RetryInfo {
  /** The attempt that just failed, starting at 1. */
  attempt: number;
  /** Wait before the next attempt. */
  delayMs: number;
  error: SecMasterError;
  operation: SecMasterOperation;
}

/** Settings of a {@link SecMasterClient}. */
export interface SecMasterClientOptions {
  /** Explicit base URL; wins over `region`. `http:` only on a loopback host (the local emulator). */
  endpoint?: string;
  /** Region id such as `cn-north-4`, giving `https://secmaster.{region}.myhuaweicloud.com`. */
  region?: string;
  /** Project id of the region, sent in the path and as `X-Project-Id`. */
  projectId: string;
  credentials: SecMasterCredentials;
  retry?: RetryOptions;
  /**
   * Per-attempt timeouts in milliseconds.
   * @default { connectMs: 5_000, headersMs: 10_000, bodyMs: 10_000 }
   */
  timeouts?: Partial<TransportTimeouts>;
  /**
   * Maximum keep-alive connections of the pool.
   * @default 8
   */
  connections?: number;
  /** Clock for `X-Sdk-Date`, `Retry-After` dates and the deadline. @default () => new Date() */
  now?: () => Date;
  /** Source of the backoff jitter, in `[0, 1)`. @default Math.random */
  random?: () => number;
  /** Waits between attempts; must reject when the signal aborts. @default a timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each wait between attempts, for logging and metrics. */
  onRetry?: (info: RetryInfo) => void;
}

/** Options of a single call. */
export interface CallOptions {
  /** Aborting stops the attempt in flight and every further attempt. */
  signal?: AbortSignal;
}

/** Options of {@link SecMasterClient.createWorkflowInstance}. */
export interface CreateWorkflowInstanceOptions extends CallOptions {
  /**
   * Whether to post again after an attempt whose outcome is unknown (a reset or timeout after the
   * request may have been written, or a 5xx). Set it to false to get the ambiguous error at once
   * and look the instance up before posting again.
   * @default true
   */
  repostAfterAmbiguous?: boolean;
}

/** Input of {@link SecMasterClient.createWorkflowInstance}. */
export interface CreateWorkflowInstanceInput {
  workspaceId: string;
  workflowId: string;
  body: CreateWorkflowInstanceRequest;
}

/** Result of {@link SecMasterClient.createWorkflowInstance}. */
export interface CreateWorkflowInstanceResult {
  instance: CreateWorkflowInstanceResponse;
  /** `X-Request-Id` of the successful response, for Huawei Cloud support. */
  requestId?: string;
  /** Attempts made, the successful one included. */
  attempts: number;
}

/** Result of {@link SecMasterClient.listWorkflowInstances}. */
export interface WorkflowInstanceList {
  /** Total number of matching instances, which may exceed `instances.length`. */
  count: number;
  instances: WorkflowInstance[];
}

/** Default per-attempt timeouts of the client. */
export const DEFAULT_TIMEOUTS: TransportTimeouts = { connectMs: 5_000, headersMs: 10_000, bodyMs: 10_000 };

/** Default size of the connection pool. */
export const DEFAULT_CONNECTIONS = 8;

/**
 * Error code of the response to a CreateWorkflowInstance whose `action_instance_id` already exists,
 * as the local emulator sends it (HTTP 400).
 *
 * NOTE: the live service's response to a duplicate `action_instance_id` is undocumented and
 * unconfirmed; this code comes from the emulator only.
 */
export const DUPLICATE_INSTANCE_ERROR_CODE = "SecMaster.20048001";

/**
 * Tells whether an error is SecMaster's "workflow instance already exists" response, which means an
 * earlier attempt with the same `action_instance_id` already started the instance.
 */
export function isDuplicateInstanceError(error: unknown): boolean {
  return error instanceof SecMasterError && error.errorCode === DUPLICATE_INSTANCE_ERROR_CODE;
}

// Path ids are sent unescaped, so they are limited to characters that need no escaping and that
// the official Node and Go signers encode alike. SecMaster ids are UUIDs or hex strings.
const PATH_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$/;

// Shared by several fields: each zod node built costs cold start time.
const requiredText = z.string().min(1, "is required");
const positiveInteger = z.number().int().positive();
const nonNegativeInteger = z.number().int().nonnegative();

const clientSettingsSchema = z.object({
  projectId: z.string().regex(PATH_ID, "must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'"),
  credentials: z.discriminatedUnion("kind", [
    z.object({
      kind: z.literal("aksk"),
      accessKey: requiredText,
      secretKey: requiredText,
      securityToken: z.string().min(1, "must not be empty when set").optional(),
    }),
    z.object({ kind: z.literal("token"), token: requiredText }),
  ]),
  retry: z.object({
    maxAttempts: z.number().int().min(1),
    baseDelayMs: nonNegativeInteger,
    maxDelayMs: nonNegativeInteger,
    deadlineMs: positiveInteger,
  }),
  timeouts: z.object({ connectMs: positiveInteger, headersMs: positiveInteger, bodyMs: positiveInteger }),
  connections: positiveInteger,
});

/**
 * Client of the SecMaster workflow APIs the bridge uses. It signs every attempt afresh, retries
 * network failures, 429 and 5xx with full-jitter backoff within `maxAttempts` and `deadlineMs`,
 * and never retries any other 4xx, so that a rejected key (401 `APIG.0301`) cannot be locked by a
 * retry storm. Every failure is a `SecMasterError`; invalid input is an `InvalidInputError`.
 *
 * @example
 * const client = new SecMasterClient({
 *   region: "cn-north-4",
 *   projectId,
 *   credentials: { kind: "aksk", accessKey, secretKey },
 * });
 * const { instance } = await client.createWorkflowInstance({ workspaceId, workflowId, body });
 * await client.close();
 */
export class SecMasterClient {
  readonly endpoint: SecMasterEndpoint;
  readonly #projectId: string;
  readonly #retry: RetryPolicy;
  readonly #transport: SecMasterTransport;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;
  #closed = false;

  /** @throws ConfigError listing every invalid option; no secret value is repeated. */
  constructor(options: SecMasterClientOptions) {
    const issues: string[] = [];
    let endpoint: SecMasterEndpoint | undefined;
    try {
      endpoint = resolveEndpoint(options);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
    const settings = clientSettingsSchema.safeParse({
      projectId: options.projectId,
      credentials: options.credentials,
      retry: withDefaults(DEFAULT_RETRY_POLICY, options.retry),
      timeouts: withDefaults(DEFAULT_TIMEOUTS, options.timeouts),
      connections: options.connections ?? DEFAULT_CONNECTIONS,
    });
    if (!settings.success) {
      for (const issue of settings.error.issues) {
        issues.push(`SecMaster client option ${formatIssuePath(issue.path)}: ${issue.message}`);
      }
    }
    if (issues.length > 0 || endpoint === undefined || !settings.success) throw new ConfigError(issues);

    this.endpoint = endpoint;
    this.#projectId = settings.data.projectId;
    this.#retry = settings.data.retry;
    this.#now = options.now ?? (() => new Date());
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleepWithSignal;
    this.#onRetry = options.onRetry;
    this.#transport = new SecMasterTransport({
      endpoint,
      projectId: settings.data.projectId,
      credentials: options.credentials,
      timeouts: settings.data.timeouts,
      connections: settings.data.connections,
    });
  }

  /**
   * Starts a workflow instance (`POST /v1/{project_id}/workspaces/{workspace_id}/soc/workflows/{workflow_id}/instances`).
   * The body is validated, serialized once, and those exact bytes are signed and sent.
   *
   * A retry after an ambiguous failure posts the same `action_instance_id` again; check the
   * final error with {@link isDuplicateInstanceError}, or set `repostAfterAmbiguous: false`.
   *
   * @throws InvalidInputError `BRIDGE.SECMASTER_REQUEST_INVALID` for an invalid id or body, before any request.
   * @throws SecMasterError when SecMaster rejects the call or cannot be reached.
   */
  async createWorkflowInstance(
    input: CreateWorkflowInstanceInput,
    options: CreateWorkflowInstanceOptions = {},
  ): Promise<CreateWorkflowInstanceResult> {
    const workspaceId = checkPathId(input.workspaceId, "workspaceId");
    const workflowId = checkPathId(input.workflowId, "workflowId");
    const body = serializeCreateBody(input.body, workflowId);
    const actionInstanceId = input.body.action_instance_id;
    const failure =
      actionInstanceId === undefined
        ? `failed to create a workflow instance in workflow ${workflowId}`
        : `failed to create workflow instance ${actionInstanceId} in workflow ${workflowId}`;

    const { value, attempts, requestId } = await this.#call({
      operation: "CreateWorkflowInstance",
      failure,
      request: { method: "POST", path: `${this.#workspacePath(workspaceId)}/workflows/${workflowId}/instances`, body },
      parse: (response) => parseResponse(createWorkflowInstanceResponseSchema, response, failure, true),
      signal: options.signal,
      repostAfterAmbiguous: options.repostAfterAmbiguous ?? true,
    });
    return requestId === undefined ? { instance: value, attempts } : { instance: value, requestId, attempts };
  }

  /**
   * Reads a workflow (`GET …/soc/workflows/{workflow_id}`): whether it is enabled and which data
   * class it runs on.
   *
   * @throws InvalidInputError for an invalid id, SecMasterError when the call fails.
   */
  async showWorkflow(
    input: { workspaceId: string; workflowId: string },
    options: CallOptions = {},
  ): Promise<WorkflowInfo> {
    const workspaceId = checkPathId(input.workspaceId, "workspaceId");
    const workflowId = checkPathId(input.workflowId, "workflowId");
    const failure = `failed to show workflow ${workflowId} in workspace ${workspaceId}`;

    const { value } = await this.#call({
      operation: "ShowWorkflow",
      failure,
      request: { method: "GET", path: `${this.#workspacePath(workspaceId)}/workflows/${workflowId}` },
      parse: (response) => parseResponse(showWorkflowResponseSchema(), response, failure, false).data,
      signal: options.signal,
      repostAfterAmbiguous: true,
    });
    return value;
  }

  /**
   * Lists workflow instances (`GET …/soc/workflows/instances`) matching the query.
   *
   * @throws InvalidInputError for an invalid id or query, SecMasterError when the call fails.
   */
  async listWorkflowInstances(
    input: { workspaceId: string; query?: ListWorkflowInstancesQuery },
    options: CallOptions = {},
  ): Promise<WorkflowInstanceList> {
    const workspaceId = checkPathId(input.workspaceId, "workspaceId");
    const parsedQuery = listWorkflowInstancesQuerySchema().safeParse(input.query ?? {});
    if (!parsedQuery.success) throw invalidInput("ListWorkflowInstances query", "query", parsedQuery.error);
    const failure = `failed to list workflow instances in workspace ${workspaceId}`;

    const { value } = await this.#call({
      operation: "ListWorkflowInstances",
      failure,
      request: {
        method: "GET",
        path: `${this.#workspacePath(workspaceId)}/workflows/instances`,
        query: parsedQuery.data,
      },
      parse: (response) => parseResponse(listWorkflowInstancesResponseSchema(), response, failure, false),
      signal: options.signal,
      repostAfterAmbiguous: true,
    });
    return { count: value.count, instances: value.instances };
  }

  /** Closes the connection pool. Calls made afterwards throw `BRIDGE.SECMASTER_CLIENT_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#transport.close();
  }

  #workspacePath(workspaceId: string): string {
    return `/v1/${this.#projectId}/workspaces/${workspaceId}/soc`;
  }

  /** Runs the attempts of one call until one succeeds or a stop rule applies. */
  async #call<T>(call: {
    operation: SecMasterOperation;
    failure: string;
    request: ApiRequest;
    parse: (response: HttpSuccess) => T;
    signal: AbortSignal | undefined;
    repostAfterAmbiguous: boolean;
  }): Promise<{ value: T; attempts: number; requestId: string | undefined }> {
    if (this.#closed) {
      throw new BridgeError("BRIDGE.SECMASTER_CLIENT_CLOSED", `${call.failure}: the SecMaster client is closed`);
    }
    const { signal, failure } = call;
    const startedMs = this.#now().getTime();
    // True once any attempt may have reached SecMaster without its response being read.
    let ambiguous = false;

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw abortedError(failure, attempt - 1, ambiguous, signal.reason);

      const outcome = await this.#transport.send(call.request, { now: this.#now(), failure, signal });
      if (outcome.ok) {
        return { value: call.parse(outcome.response), attempts: attempt, requestId: outcome.response.requestId };
      }
      // An abort during the attempt: the request may already have been written.
      if (signal?.aborted) throw abortedError(failure, attempt, true, signal.reason);

      const { error } = outcome;
      ambiguous ||= error.ambiguous;
      if (!error.retryable) throw finalError(error, ambiguous, undefined);
      if (attempt >= this.#retry.maxAttempts) {
        throw finalError(error, ambiguous, `gave up after ${countAttempts(attempt)}`);
      }
      if (error.ambiguous && !call.repostAfterAmbiguous) {
        throw finalError(error, ambiguous, `not posted again because the outcome is unknown`);
      }

      const delayMs = backoffDelayMs(attempt, this.#retry, this.#random, outcome.retryAfterMs);
      const elapsedMs = this.#now().getTime() - startedMs;
      if (elapsedMs + delayMs > this.#retry.deadlineMs) {
        const stopReason = `retry deadline of ${this.#retry.deadlineMs} ms reached after ${countAttempts(attempt)}`;
        throw finalError(error, ambiguous, stopReason);
      }

      this.#onRetry?.({ attempt, delayMs, error, operation: call.operation });
      try {
        await this.#sleep(delayMs, signal);
      } catch (sleepError) {
        if (signal?.aborted) throw abortedError(failure, attempt, ambiguous, signal.reason);
        throw sleepError;
      }
      if (signal?.aborted) throw abortedError(failure, attempt, ambiguous, signal.reason);
    }
  }
}

/** Applies the defaults to every option that is missing or explicitly undefined. */
function withDefaults<T extends object>(defaults: T, overrides: Partial<T> | undefined): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

function checkPathId(value: string, field: string): string {
  if (typeof value === "string" && PATH_ID.test(value)) return value;
  throw new InvalidInputError(
    "BRIDGE.SECMASTER_REQUEST_INVALID",
    `invalid ${field} ${JSON.stringify(String(value).slice(0, 140))}: ` +
      "use 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'",
    { field },
  );
}

/** Validates a CreateWorkflowInstance body and returns the bytes to sign and send. */
function serializeCreateBody(body: CreateWorkflowInstanceRequest, workflowId: string): Buffer {
  const parsed = createWorkflowInstanceRequestSchema.safeParse(body);
  if (!parsed.success) throw invalidInput("CreateWorkflowInstance body", "body", parsed.error);
  if (body.action_id !== undefined && body.action_id !== workflowId) {
    throw new InvalidInputError(
      "BRIDGE.SECMASTER_REQUEST_INVALID",
      `invalid CreateWorkflowInstance body: action_id ${JSON.stringify(body.action_id)} ` +
        `differs from workflow ${workflowId}`,
      { field: "body.action_id", fix: "set action_id to the workflow id or leave it out" },
    );
  }

  let text: string;
  try {
    // The caller's object, not zod's copy, so the key order is the caller's.
    text = JSON.stringify(body);
  } catch (error) {
    throw new InvalidInputError(
      "BRIDGE.SECMASTER_REQUEST_INVALID",
      "invalid CreateWorkflowInstance body: the content cannot be serialized as JSON",
      { field: "body.playbook_context.data_object.content", cause: error },
    );
  }
  return Buffer.from(text, "utf8");
}

function invalidInput(what: string, root: string, error: z.ZodError): InvalidInputError {
  const first = error.issues[0];
  const field = first === undefined ? root : `${root}${first.path.length > 0 ? "." : ""}${formatIssuePath(first.path)}`;
  const summary = error.issues
    .slice(0, 3)
    .map((issue) => `${root}${issue.path.length > 0 ? "." : ""}${formatIssuePath(issue.path)}: ${issue.message}`)
    .join("; ");
  return new InvalidInputError("BRIDGE.SECMASTER_REQUEST_INVALID", `invalid ${what}: ${summary}`, {
    field,
    cause: error,
  });
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/**
 * Parses a 2xx body. A body that is not JSON or does not match the schema fails without retry.
 * After a POST that failure is ambiguous, because SecMaster accepted the request.
 */
function parseResponse<S extends z.ZodType>(
  schema: S,
  response: HttpSuccess,
  failure: string,
  ambiguous: boolean,
): z.output<S> {
  const details = { httpStatus: response.status, requestId: response.requestId, retryable: false, ambiguous };
  let json: unknown;
  try {
    json = response.bodyText.trim() === "" ? {} : JSON.parse(response.bodyText);
  } catch (error) {
    throw new SecMasterError(`${failure}: SecMaster returned ${response.status} with a body that is not JSON`, {
      ...details,
      cause: error,
    });
  }

  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const summary = result.error.issues
    .slice(0, 3)
    .map((issue) => `${formatIssuePath(issue.path) || "(root)"}: ${issue.message}`)
    .join("; ");
  throw new SecMasterError(`${failure}: SecMaster returned ${response.status} with an unexpected body (${summary})`, {
    ...details,
    cause: result.error,
  });
}

/** Rebuilds the last attempt's error with the ambiguity of all attempts and why retrying stopped. */
function finalError(error: SecMasterError, ambiguous: boolean, stopReason: string | undefined): SecMasterError {
  if (stopReason === undefined && ambiguous === error.ambiguous) return error;
  return new SecMasterError(stopReason === undefined ? error.message : `${error.message}; ${stopReason}`, {
    httpStatus: error.httpStatus,
    errorCode: error.errorCode,
    errorMessage: error.errorMessage,
    requestId: error.requestId,
    retryable: error.retryable,
    ambiguous,
    cause: error.cause,
  });
}

/**
 * Builds the error for a call the caller aborted. It is retryable because SecMaster rejected
 * nothing, and ambiguous when an attempt may have reached SecMaster.
 */
function abortedError(failure: string, attempts: number, ambiguous: boolean, reason: unknown): SecMasterError {
  const when = attempts === 0 ? "before the first attempt" : `after ${countAttempts(attempts)}`;
  return new SecMasterError(`${failure}: aborted by the caller ${when}`, {
    httpStatus: 0,
    retryable: true,
    ambiguous,
    cause: reason,
  });
}

function countAttempts(attempts: number): string {
  return attempts === 1 ? "1 attempt" : `${attempts} attempts`;
}
