import { IdempotencyConfig, makeIdempotent, IdempotencyAlreadyInProgressError } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Context } from "aws-lambda";
import { BridgeError, SecMasterError } from "../errors";
import { logger } from "../logger";
import { createInstanceBody, type StartJob } from "./job";

/** The one SecMaster call dispatch needs; `SecMasterClient` satisfies it. */
export interface WorkflowInstanceCreator {
  createWorkflowInstance(
    input: { workspaceId: string; workflowId: string; body: ReturnType<typeof createInstanceBody> },
    options?: { signal?: AbortSignal },
  ): Promise<{ requestId?: string | undefined; attempts: number }>;
}

/** Result of starting a job that did not fail. */
export interface StartOutcome {
  /** `created` for a new instance; `duplicate` when this episode was started before. */
  status: "created" | "duplicate";
  requestId?: string | undefined;
}

export interface StarterOptions {
  client: WorkflowInstanceCreator;
  /** Idempotency store; undefined turns idempotency off (benchmarks only). */
  persistenceStore: BasePersistenceLayer | undefined;
  /** Lifetime of a completed idempotency record. @default 604800 (7 days) */
  ttlSeconds?: number;
  /** Tells a SecMaster "instance already exists" answer apart from other errors. */
  isDuplicateError: (error: unknown) => boolean;
  /**
   * How long a caller waits for another invocation that holds the in-progress lock of the same
   * job before giving up with a retryable error, in milliseconds.
   * @default 10000
   */
  inProgressWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Starts jobs exactly once per `actionInstanceId`, and tells created from duplicate. */
export interface Starter {
  start(job: StartJob, signal?: AbortSignal): Promise<StartOutcome>;
  /** Lets an in-progress lock expire with the Lambda invocation that holds it. */
  registerLambdaContext(context: Context): void;
}

const IDEMPOTENCY_KEY_PREFIX = "secmaster-bridge#start";

/**
 * Wraps the single CreateWorkflowInstance call with the Powertools idempotency utility, keyed on
 * `actionInstanceId`. A thrown error releases the record, so only a started (or already existing)
 * instance is remembered. A replay from the store is reported as `duplicate`.
 */
export function createStarter(options: StarterOptions): Starter {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const inProgressWaitMs = options.inProgressWaitMs ?? 10_000;

  async function callSecMaster(job: StartJob, signal?: AbortSignal): Promise<StartOutcome> {
    try {
      const result = await options.client.createWorkflowInstance(
        { workspaceId: job.workspaceId, workflowId: job.workflowId, body: createInstanceBody(job) },
        signal === undefined ? {} : { signal },
      );
      logger.info("workflow instance created", {
        actionInstanceId: job.actionInstanceId,
        workflowId: job.workflowId,
        source: job.source,
        attempts: result.attempts,
        requestId: result.requestId,
      });
      return { status: "created", requestId: result.requestId };
    } catch (error) {
      if (options.isDuplicateError(error)) {
        logger.info("workflow instance already exists in SecMaster", {
          actionInstanceId: job.actionInstanceId,
          workflowId: job.workflowId,
          source: job.source,
        });
        return { status: "duplicate" };
      }
      throw error;
    }
  }

  if (options.persistenceStore === undefined) {
    return { start: callSecMaster, registerLambdaContext: () => undefined };
  }

  const config = new IdempotencyConfig({
    eventKeyJmesPath: "actionInstanceId",
    expiresAfterSeconds: options.ttlSeconds ?? 7 * 24 * 3600,
    throwOnNoIdempotencyKey: true,
    // Called only when the result comes from the store, which means an earlier call started it.
    responseHook: (response) => ({ ...(response as object), status: "duplicate" }),
  });
  const idempotentCall = makeIdempotent(callSecMaster, {
    persistenceStore: options.persistenceStore,
    config,
    keyPrefix: IDEMPOTENCY_KEY_PREFIX,
  });

  async function start(job: StartJob, signal?: AbortSignal): Promise<StartOutcome> {
    const deadline = Date.now() + inProgressWaitMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        return await idempotentCall(job, signal);
      } catch (error) {
        if (!(error instanceof IdempotencyAlreadyInProgressError)) throw error;
        // Another invocation is starting the same job right now; its outcome decides ours.
        if (Date.now() + wait > deadline) {
          throw new BridgeError(
            "BRIDGE.START_IN_PROGRESS",
            `workflow instance ${job.actionInstanceId} is being started by another request; retry later`,
            { statusCode: 503, cause: error },
          );
        }
        await sleep(wait);
      }
    }
  }

  return { start, registerLambdaContext: (context) => config.registerLambdaContext(context) };
}

/** Short, log-safe reason for a failed start, with SecMaster's code when there is one. */
export function describeStartFailure(error: unknown): { code: string; reason: string; retryable: boolean } {
  if (error instanceof SecMasterError) {
    const status = error.httpStatus === 0 ? "no response" : `${error.httpStatus}`;
    const code = error.errorCode ?? error.code;
    return { code, reason: `SecMaster returned ${status} ${code}${error.errorMessage ? `: ${error.errorMessage}` : ""}`, retryable: error.retryable };
  }
  if (error instanceof BridgeError) {
    return { code: error.code, reason: error.message, retryable: error.statusCode >= 500 || error.statusCode === 429 };
  }
  return { code: "BRIDGE.START_FAILED", reason: "internal error while starting the workflow instance", retryable: true };
}
