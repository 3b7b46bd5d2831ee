import { BridgeError, SecMasterError } from "../errors";
import { mapWithConcurrency } from "../concurrency";
import { logger } from "../logger";
import { countMetric, METRIC } from "../metrics";
import { decodeEnvelope, encodeEnvelope, type JobEnvelope, type JobError, type MessageQueue } from "./queue";
import { isAborted } from "./deadline";
import { startFailureLogLevel } from "./failure";
import { describeStartFailure, type Starter } from "./start";

/** One queue message as dispatch receives it. An SQS event record carries the same fields. */
export interface DispatchRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** Times the message has been received, this time included. */
  receiveCount: number;
}

/** Dependencies of dispatch, taken from the runtime. */
export interface DispatchDependencies {
  starter: Starter;
  /** Queue the records came from, for retry backoff; undefined leaves the visibility timeout as it is. */
  queue: MessageQueue | undefined;
  /** Queue for failed jobs and their last error; undefined leaves them to the queue's redrive policy. */
  deadLetters: MessageQueue | undefined;
  /** Receives after which a failed job is dead-lettered; equal to the redrive policy's `maxReceiveCount`. */
  maxReceives: number;
  /** Jobs started at once within one batch. */
  concurrency: number;
  /** Wait before the second receive of a failed job, in milliseconds; it doubles per receive. */
  retryBaseDelayMs: number;
  /** Maximum wait before a failed job is received again, in milliseconds. */
  retryMaxDelayMs: number;
  now?: () => Date;
}

/** Outcome of one record. */
export type RecordOutcome = "created" | "duplicate" | "dead-lettered" | "retry";

/**
 * Starts the job of every record through the idempotent starter and returns the message ids to
 * report in `batchItemFailures`: exactly the records to receive again. One record's failure never
 * affects another's.
 *
 * A failed job is dead-lettered with its last error when retrying cannot help (an invalid job, a
 * rejection SecMaster will repeat) or when this was its last receive. Otherwise its visibility is
 * shortened to an exponential backoff, and it is reported as failed. `onSettled` is called as each
 * record finishes, so a caller that runs out of time can report which ones finished.
 */
export async function dispatchRecords(
  records: readonly DispatchRecord[],
  deps: DispatchDependencies,
  options: { signal?: AbortSignal; onSettled?: (messageId: string, outcome: RecordOutcome) => void } = {},
): Promise<string[]> {
  const outcomes = await mapWithConcurrency(records, deps.concurrency, async (record) => {
    const outcome = await dispatchRecord(record, deps, options.signal);
    options.onSettled?.(record.messageId, outcome);
    return outcome;
  });

  const retries = records.filter((_, index) => outcomes[index] === "retry");
  if (retries.length > 0 && deps.queue !== undefined && !isAborted(options.signal)) {
    const entries = retries.map((record) => ({
      receiptHandle: record.receiptHandle,
      visibilityTimeoutMs: retryDelayMs(record.receiveCount, deps.retryBaseDelayMs, deps.retryMaxDelayMs),
    }));
    // Best effort: a record whose visibility cannot be changed is retried after the queue's timeout.
    await deps.queue.changeVisibility(entries).catch((error: unknown) => {
      logger.warn("failed to schedule the retry of failed jobs", { records: entries.length, error: error as Error });
    });
  }
  return retries.map((record) => record.messageId);
}

async function dispatchRecord(record: DispatchRecord, deps: DispatchDependencies, signal: AbortSignal | undefined): Promise<RecordOutcome> {
  const now = deps.now ?? (() => new Date());
  let envelope: JobEnvelope;
  try {
    envelope = decodeEnvelope(record.body);
  } catch (error) {
    const failure = describeStartFailure(error);
    logger.error("queue message is not a valid job", { messageId: record.messageId, code: failure.code, reason: failure.reason });
    countMetric(METRIC.startFailures);
    return deadLetterRaw(record, deps, failure.code, failure.reason, now());
  }

  const { job } = envelope;
  const ids = { messageId: record.messageId, actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source };
  if (isAborted(signal)) return "retry";

  try {
    const mayExist = envelope.priorAttempts > 0 || record.receiveCount > 1;
    // On the last receive a failure dead-letters the job, so the starter first checks whether an
    // ambiguous failure left the instance started.
    const finalAttempt = record.receiveCount >= deps.maxReceives;
    const outcome = await deps.starter.start(job, signal, { mayExist, finalAttempt });
    countMetric(outcome.status === "created" ? METRIC.instancesCreated : METRIC.duplicates);
    return outcome.status;
  } catch (error) {
    const failure = describeStartFailure(error);
    countMetric(METRIC.startFailures);
    if (error instanceof SecMasterError && error.httpStatus === 429) countMetric(METRIC.throttles);
    const lastError: JobError = {
      code: failure.code,
      reason: error instanceof BridgeError ? error.message : failure.reason,
      retryable: failure.retryable,
      ambiguous: failure.ambiguous,
      receiveCount: record.receiveCount,
      failedAt: now().toISOString(),
    };
    const lastReceive = record.receiveCount >= deps.maxReceives;
    const log = startFailureLogLevel(failure.code) === "warn" ? logger.warn.bind(logger) : logger.error.bind(logger);
    log("failed to start workflow instance", {
      ...ids,
      receiveCount: record.receiveCount,
      code: failure.code,
      reason: failure.reason,
      retryable: failure.retryable,
      next: isAborted(signal) || (failure.retryable && !lastReceive) ? "retry" : "dead-letter",
      error: error instanceof Error ? error : undefined,
    });
    // A job cut off by the invocation's timeout is not at fault, so it is always retried.
    if (isAborted(signal) || (failure.retryable && !lastReceive)) return "retry";
    return deadLetter(record, envelope, lastError, deps, now());
  }
}

/** Sends the job with its last error to the dead-letter queue; a failed send leaves it for a retry. */
async function deadLetter(record: DispatchRecord, envelope: JobEnvelope, lastError: JobError, deps: DispatchDependencies, now: Date): Promise<RecordOutcome> {
  const body = encodeEnvelope({ ...envelope, lastError, deadLetteredAt: now.toISOString() });
  return sendDeadLetter(record, body, deps, { actionInstanceId: envelope.job.actionInstanceId, code: lastError.code });
}

// An invalid body cannot hold an error field, so it goes to the dead-letter queue wrapped with it.
async function deadLetterRaw(record: DispatchRecord, deps: DispatchDependencies, code: string, reason: string, now: Date): Promise<RecordOutcome> {
  const body = JSON.stringify({ invalidBody: record.body.slice(0, 200_000), lastError: { code, reason, receiveCount: record.receiveCount, failedAt: now.toISOString() } });
  return sendDeadLetter(record, body, deps, { code });
}

async function sendDeadLetter(record: DispatchRecord, body: string, deps: DispatchDependencies, ids: Record<string, string>): Promise<RecordOutcome> {
  if (deps.deadLetters === undefined) {
    // Without a dead-letter queue of our own, the queue's redrive policy moves the message after
    // its last receive, without the error.
    return "retry";
  }
  const [result] = await deps.deadLetters.send([{ id: record.messageId, body }]);
  if (result === undefined || !result.ok) {
    logger.error("failed to send a job to the dead-letter queue; it will be retried", {
      messageId: record.messageId,
      ...ids,
      deadLetterQueue: deps.deadLetters.name,
      reason: result?.ok === false ? result.error.message : "no result",
    });
    return "retry";
  }
  countMetric(METRIC.deadLettered);
  logger.error("job moved to the dead-letter queue", { messageId: record.messageId, ...ids, receiveCount: record.receiveCount, deadLetterQueue: deps.deadLetters.name });
  return "dead-lettered";
}

/**
 * Computes the wait before a failed job is received again: `baseMs * 2^(receiveCount - 1)`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so throttled jobs spread out but
 * never come back at once.
 */
export function retryDelayMs(receiveCount: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const boundMs = Math.min(maxMs, baseMs * 2 ** Math.max(0, receiveCount - 1));
  return Math.round(boundMs / 2 + random() * (boundMs / 2));
}
