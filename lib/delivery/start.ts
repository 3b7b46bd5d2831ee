import { IdempotencyConfig, makeIdempotent, IdempotencyAlreadyInProgressError, IdempotencyItemNotFoundError } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Context } from "aws-lambda";
import { BridgeError, SecMasterError } from "../errors";
import { logger } from "../logger";
import { isAborted } from "./deadline";
import { createInstanceBody, type StartJob } from "./job";

import { describeStartFailure } from "./failure";

// Kept in its own module so that code which only reports failures does not load the idempotency utility.
export { describeStartFailure };

/** The one SecMaster call dispatch needs; `SecMasterClient` satisfies it. */
export interface WorkflowInstanceCreator {
  createWorkflowInstance(
    input: { workspaceId: string; workflowId: string; body: ReturnType<typeof createInstanceBody> },
    options?: { signal?: AbortSignal; repostAfterAmbiguous?: boolean },
  ): Promise<{ requestId?: string | undefined; attempts: number }>;
}

/** The SecMaster look-up that settles an ambiguous outcome; `SecMasterClient` satisfies it. */
export interface WorkflowInstanceFinder {
  listWorkflowInstances(
    input: { workspaceId: string; query?: { id?: string; workflow_id?: string; limit?: number } },
    options?: { signal?: AbortSignal },
  ): Promise<{ count: number; instances: { id?: string | undefined }[] }>;
}

/** Result of starting a job that did not fail. */
export interface StartOutcome {
  /** `created` for a new instance; `duplicate` when this episode was started before. */
  status: "created" | "duplicate";
  requestId?: string | undefined;
}

/** Options of one {@link Starter.start} call. */
export interface StartOptions {
  /**
   * True when an earlier attempt at this job may have reached SecMaster: a redelivered or
   * redriven queue message, or a replayed delivery. With the ambiguity check on, the starter
   * then looks the instance up before posting.
   */
  mayExist?: boolean;
  /**
   * True when the caller gives up on the job if this start fails. Dispatch sets it on the last
   * receive, after which it dead-letters the job. With the ambiguity check on, a failure that may
   * have reached SecMaster is then settled by one more look-up, and a found instance makes the
   * start succeed as `duplicate` instead of failing.
   */
  finalAttempt?: boolean;
}

export interface StarterOptions {
  client: WorkflowInstanceCreator;
  /** Idempotency store; undefined turns idempotency off (benchmarks only). */
  persistenceStore: BasePersistenceLayer | undefined;
  /** Lifetime of a completed idempotency record. @default 604800 (7 days) */
  ttlSeconds?: number;
  /** Recognises SecMaster's "instance already exists" response among other errors. */
  isDuplicateError: (error: unknown) => boolean;
  /**
   * How long a caller waits for another invocation that holds the in-progress lock of the same
   * job before giving up with a retryable error, in milliseconds.
   * @default 10000
   */
  inProgressWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Look-up for ambiguous outcomes. When set, a CreateWorkflowInstance attempt that timed out or
   * lost its connection after the request may have been written is not posted again blindly.
   * The starter lists the instance by id first, and posts again only when it is not there. It
   * also looks first when {@link StartOptions.mayExist} is set, and once more before an ambiguous
   * failure when {@link StartOptions.finalAttempt} is set. Without it, the client re-posts
   * and relies on SecMaster rejecting a second `action_instance_id`, which the API reference
   * does not promise.
   */
  finder?: WorkflowInstanceFinder | undefined;
  /**
   * Posts per start when the ambiguity check finds no instance after an ambiguous failure, the
   * first post included. Further failures are left to the queue's retries.
   * @default 2
   */
  maxPosts?: number;
}

/**
 * Starts each job once per `actionInstanceId` while its idempotency record lives, and reports it
 * as created or duplicate. SecMaster's duplicate rejection guards the rest.
 */
export interface Starter {
  start(job: StartJob, signal?: AbortSignal, options?: StartOptions): Promise<StartOutcome>;
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

  const finder = options.finder;
  const maxPosts = options.maxPosts ?? 2;

  async function callSecMaster(job: StartJob, signal?: AbortSignal, startOptions: StartOptions = {}): Promise<StartOutcome> {
    const ids = { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source };
    if (finder !== undefined && startOptions.mayExist === true && (await findEarlierStart(finder, job, signal))) {
      logger.info("workflow instance found by look-up before posting", ids);
      return { status: "duplicate" };
    }

    for (let post = 1; ; post++) {
      try {
        const result = await options.client.createWorkflowInstance(
          { workspaceId: job.workspaceId, workflowId: job.workflowId, body: createInstanceBody(job) },
          { ...(signal === undefined ? {} : { signal }), repostAfterAmbiguous: finder === undefined },
        );
        logger.info("workflow instance created", { ...ids, attempts: result.attempts, requestId: result.requestId });
        // The outcome is stored in DynamoDB, which rejects attributes whose value is undefined.
        return result.requestId === undefined ? { status: "created" } : { status: "created", requestId: result.requestId };
      } catch (error) {
        if (options.isDuplicateError(error)) {
          logger.info("workflow instance already exists in SecMaster", ids);
          return { status: "duplicate" };
        }
        if (finder === undefined || !isAmbiguous(error) || signal?.aborted === true) throw error;

        // The post may have reached SecMaster: its outcome decides whether to post again.
        const exists = await lookUpAfterFailure(finder, job, signal, error, "failed to look up a workflow instance after an ambiguous failure");
        if (exists) {
          logger.info("workflow instance found by look-up after an ambiguous failure", { ...ids, post });
          return { status: "created" };
        }
        if (post >= maxPosts) throw error;
        logger.info("workflow instance not found after an ambiguous failure; posting again", { ...ids, post });
      }
    }
  }

  /**
   * Wraps a start so that a final failure which may have left an instance behind is settled by
   * one more look-up. The look-ups inside `callSecMaster` can fail under the same faults as the
   * post, and a job given up on although its instance runs is a false alarm.
   */
  function withFinalLookUp(startOnce: (job: StartJob, signal: AbortSignal | undefined, startOptions: StartOptions) => Promise<StartOutcome>) {
    return async (job: StartJob, signal?: AbortSignal, startOptions: StartOptions = {}): Promise<StartOutcome> => {
      try {
        return await startOnce(job, signal, startOptions);
      } catch (error) {
        if (finder === undefined || startOptions.finalAttempt !== true || signal?.aborted === true || !describeStartFailure(error).ambiguous) throw error;
        if (!(await lookUpAfterFailure(finder, job, signal, error, "failed to look up a workflow instance before giving up on it"))) throw error;
        logger.info("workflow instance found by look-up before giving up on it", { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source });
        return { status: "duplicate" };
      }
    };
  }

  if (options.persistenceStore === undefined) {
    return { start: withFinalLookUp(callSecMaster), registerLambdaContext: () => undefined };
  }

  // The key is the action_instance_id, passed as the first argument, so that the utility hashes
  // it without a JMESPath expression and the Lambda bundles leave JMESPath out
  // (infra/esbuild-plugins.cjs). The keys equal those of eventKeyJmesPath "actionInstanceId".
  const config = new IdempotencyConfig({
    expiresAfterSeconds: options.ttlSeconds ?? 7 * 24 * 3600,
    throwOnNoIdempotencyKey: true,
    // Called only when the result comes from the store, which means an earlier call started it.
    responseHook: (response) => ({ ...(response as object), status: "duplicate" }),
  });
  // Powertools takes the second argument for a Lambda context when it has getRemainingTimeInMillis
  // or step, which a job never has.
  //
  // A start that took over an in-progress record whose lock had expired or was released follows a
  // call whose outcome is unknown, because it failed without a response, outlived its lock, or its
  // process died. That call may have created the instance, so this start looks it up before posting.
  // A start whose call fails with an unknown outcome leaves its record to be taken over that way.
  // With POWERTOOLS_IDEMPOTENCY_DISABLED the utility calls the function without a record, and
  // nothing would clear the marks.
  const tracking = config.isEnabled() ? unsettledStartTrackingOf(options.persistenceStore) : undefined;
  const keyedCall = async (actionInstanceId: string, job: StartJob, signal: AbortSignal | undefined, startOptions: StartOptions) => {
    const tookOver = tracking?.takeOverNotice(actionInstanceId) === true;
    let callOptions = startOptions;
    if (tookOver && startOptions.mayExist !== true) {
      logger.info("took over the record of an earlier start whose outcome is unknown; looking the instance up before posting", {
        actionInstanceId,
        workflowId: job.workflowId,
        source: job.source,
      });
      callOptions = { ...startOptions, mayExist: true };
    }
    try {
      return await callSecMaster(job, signal, callOptions);
    } catch (error) {
      // A start that took such a record over keeps it unsettled whatever its own failure, because
      // the earlier call's outcome is still unknown.
      if (tookOver || describeStartFailure(error).ambiguous) tracking?.markUnsettled(actionInstanceId);
      throw error;
    }
  };
  const idempotentCall = makeIdempotent(keyedCall, {
    persistenceStore: options.persistenceStore,
    config,
    keyPrefix: IDEMPOTENCY_KEY_PREFIX,
  });

  async function startOnce(job: StartJob, signal: AbortSignal | undefined, startOptions: StartOptions): Promise<StartOutcome> {
    // A job reached after the caller gave up touches neither the store nor SecMaster.
    if (isAborted(signal)) {
      throw new BridgeError("BRIDGE.START_ABORTED", `workflow instance ${job.actionInstanceId} was not started: the caller gave up before its turn; retry later`, {
        statusCode: 503,
      });
    }
    const deadline = Date.now() + inProgressWaitMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        return await idempotentCall(job.actionInstanceId, job, signal, startOptions);
      } catch (error) {
        // Another invocation is starting the same job right now, and its outcome decides ours. When
        // its record vanished between our failed write and the read of it (it failed and deleted
        // the record), the next attempt takes the job over.
        if (!(error instanceof IdempotencyAlreadyInProgressError || error instanceof IdempotencyItemNotFoundError)) throw error;
        // A caller that gave up (the direct-mode deadline) stops waiting too.
        if (Date.now() + wait > deadline || isAborted(signal)) {
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

  return { start: withFinalLookUp(startOnce), registerLambdaContext: (context) => config.registerLambdaContext(context) };
}

/**
 * A store that keeps the record of a start whose outcome is unknown and reports to the next start
 * that it took such a record over, such as `DynamoDBStore`. With other Powertools stores a repeat
 * posts without a look-up and relies on SecMaster rejecting a second `action_instance_id`.
 */
export interface UnsettledStartTracking {
  markUnsettled(data: string): void;
  takeOverNotice(data: string): boolean;
}

function unsettledStartTrackingOf(store: BasePersistenceLayer): UnsettledStartTracking | undefined {
  const candidate = store as Partial<UnsettledStartTracking>;
  const tracks = typeof candidate.takeOverNotice === "function" && typeof candidate.markUnsettled === "function";
  return tracks ? (store as unknown as UnsettledStartTracking) : undefined;
}

function isAmbiguous(error: unknown): boolean {
  return error instanceof SecMasterError && error.ambiguous;
}

/**
 * Looks the job's instance up after `failure`. When the look-up fails too, it logs `warning` with
 * the look-up's error and throws `failure`, whose outcome is still unknown.
 */
async function lookUpAfterFailure(finder: WorkflowInstanceFinder, job: StartJob, signal: AbortSignal | undefined, failure: unknown, warning: string): Promise<boolean> {
  try {
    return await instanceExists(finder, job, signal);
  } catch (lookupError) {
    logger.warn(warning, { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source, error: lookupError as Error });
    throw failure;
  }
}

/**
 * Looks up an instance that an earlier attempt at the job may have started. A failed look-up
 * leaves that outcome unknown, so its error is rethrown as ambiguous. The look-up's own status,
 * such as a 429 or 503 on the GET, does not show whether the earlier post was stored.
 */
async function findEarlierStart(finder: WorkflowInstanceFinder, job: StartJob, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    return await instanceExists(finder, job, signal);
  } catch (error) {
    if (!(error instanceof SecMasterError)) throw error;
    throw new SecMasterError(`failed to look up workflow instance ${job.actionInstanceId}, which an earlier attempt may have started: ${error.message}`, {
      httpStatus: error.httpStatus,
      errorCode: error.errorCode,
      errorMessage: error.errorMessage,
      requestId: error.requestId,
      retryable: error.retryable,
      ambiguous: true,
      cause: error,
    });
  }
}

/**
 * Lists the job's instance by id. SecMaster's list may lag behind a create that has just
 * succeeded.
 *
 * NOTE: whether SecMaster uses the caller's `action_instance_id` as the instance id that the
 * `id` filter matches is unconfirmed; the local emulator does.
 */
async function instanceExists(finder: WorkflowInstanceFinder, job: StartJob, signal: AbortSignal | undefined): Promise<boolean> {
  const list = await finder.listWorkflowInstances(
    { workspaceId: job.workspaceId, query: { id: job.actionInstanceId, workflow_id: job.workflowId } },
    signal === undefined ? {} : { signal },
  );
  return list.instances.some((instance) => instance.id === job.actionInstanceId);
}
