import { logger } from "../logger";
import { retargetJob, type JobTarget, type StartJob } from "./job";
import { decodeEnvelope, encodeEnvelope, newEnvelope, type JobEnvelope, type MessageQueue, type ReceivedMessage } from "./queue";

/** Settings of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  /** The dead-letter queue. */
  from: MessageQueue;
  /** The jobs queue that dispatch reads. */
  to: MessageQueue;
  /** Count and summarize the dead letters without moving any. */
  dryRun?: boolean;
  /** Move at most this many jobs. */
  limit?: number;
  /**
   * How long a dead letter stays hidden while it is being moved or counted, in milliseconds. A
   * job whose move failed is visible in the dead-letter queue again after it.
   * @default 60000
   */
  visibilityTimeoutMs?: number;
  /**
   * Points each moved job at this workflow (and workspace and project, when given), with the
   * `actionInstanceId` the bridge derives for its alert episode and the new workflow. Jobs
   * without an identity stay in the dead-letter queue.
   */
  retarget?: RedriveTarget;
  /**
   * Plans the start job of a failed scheduled run: the schedule function's event from a Lambda
   * invocation record (see {@link readFailedInvocation}). It throws for an event it cannot plan.
   * Without it, such records stay in the dead-letter queue and are only listed.
   */
  planScheduledRun?: (event: unknown) => StartJob;
  /** Called after each batch with the jobs handled so far and the count found at the start. */
  onProgress?: (done: number, total: number) => void;
}

/** A scheduled run whose invocations Lambda gave up on, read from its invocation record. */
export interface FailedScheduledRun {
  schedule: string;
  /** The event's time as the record carries it. */
  time: string;
  /** Why the last invocation failed: Lambda's condition and the function's error message. */
  reason: string;
  /**
   * Whether its start job was planned. A planned job then moves as a dead-lettered job does, and
   * a failed send counts in `failed`. An unplanned run stays in the dead-letter queue.
   */
  planned: boolean;
}

/** The new target of a re-targeting redrive. */
export interface RedriveTarget extends JobTarget {
  /** Workflow whose jobs alone are re-targeted and moved. The others stay in the dead-letter queue. */
  fromWorkflowId?: string | undefined;
}

/** One job a redrive re-targeted, or would re-target in a dry run. */
export interface RetargetedJob {
  source: string;
  alertKey: string;
  oldActionInstanceId: string;
  newActionInstanceId: string;
  oldWorkflowId: string;
  newWorkflowId: string;
  oldWorkspaceId: string;
  newWorkspaceId: string;
}

/** Counts of one redrive. */
export interface RedriveReport {
  /** Dead letters counted at the start (an estimate for SQS). */
  total: number;
  /** Jobs sent back to the jobs queue and deleted from the dead-letter queue; 0 in a dry run. */
  moved: number;
  /** Jobs that could not be sent back; they stay in the dead-letter queue. */
  failed: number;
  /**
   * Messages that are not jobs (an invalid body dispatch dead-lettered) and not planned
   * scheduled runs; they stay where they are.
   */
  invalid: number;
  /** Failed scheduled runs found, planned or kept, in the order they were seen. */
  scheduledRuns: FailedScheduledRun[];
  /** Dead letters seen, by the code of their last error. */
  byErrorCode: Record<string, number>;
  /** Jobs whose target changed (or would change in a dry run), in the order they were seen. */
  retargeted: RetargetedJob[];
  /** Jobs left in the dead-letter queue because they target another workflow than `fromWorkflowId`. */
  otherWorkflow: number;
  /**
   * Jobs left in the dead-letter queue because they cannot be re-targeted: queued by a version
   * that kept no alert identity in the job, or with an identity that does not give their id.
   */
  withoutIdentity: number;
}

/**
 * Moves dead-lettered jobs back to the jobs queue, or counts them in a dry run. Each job goes back
 * with `priorAttempts` raised, so dispatch looks its instance up before posting (its last attempt
 * may have created it), and without its old error. A job is deleted from the dead-letter queue
 * only after the jobs queue accepted it, so a crash in between duplicates it rather than losing it.
 * With `retarget`, each moved job first gets the new target and the id derived for it. Jobs that
 * do not match `fromWorkflowId` or carry no identity stay in the dead-letter queue.
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveReport> {
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 60_000;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const report: RedriveReport = {
    total: await options.from.approximateCount(),
    moved: 0,
    failed: 0,
    invalid: 0,
    scheduledRuns: [],
    byErrorCode: {},
    retargeted: [],
    otherWorkflow: 0,
    withoutIdentity: 0,
  };
  const seen: ReceivedMessage[] = [];
  // Messages that stay in the dead-letter queue: not jobs, another workflow, or not re-targetable.
  const keptInDeadLetters: ReceivedMessage[] = [];
  let emptyReceives = 0;

  // SQS may return nothing from a receive while messages remain, so the loop stops after two empty receives in a row.
  while (report.moved + report.failed + report.invalid < limit && emptyReceives < 2) {
    const batch = await options.from.receive({
      maxMessages: Math.min(10, limit - (report.moved + report.failed + report.invalid)),
      visibilityTimeoutMs,
      waitTimeMs: 1_000,
    });
    if (batch.length === 0) {
      emptyReceives += 1;
      continue;
    }
    emptyReceives = 0;
    seen.push(...batch);

    const sendable: { message: ReceivedMessage; body: string; change: RetargetedJob | undefined }[] = [];
    for (const message of batch) {
      let envelope = tryDecode(message.body);
      let code = envelope === undefined ? "BRIDGE.JOB_INVALID" : (envelope.lastError?.code ?? "(none)");
      if (envelope === undefined) {
        const scheduled = readScheduledRunRecord(message.body, options.planScheduledRun, report);
        if (scheduled !== undefined) {
          code = SCHEDULED_RUN_FAILED;
          envelope = scheduled.envelope;
        }
      }
      report.byErrorCode[code] = (report.byErrorCode[code] ?? 0) + 1;
      if (envelope === undefined) {
        if (code !== SCHEDULED_RUN_FAILED) report.invalid += 1;
        keptInDeadLetters.push(message);
        continue;
      }
      const planned = planMove(envelope, options.retarget, report);
      if (planned === undefined) {
        keptInDeadLetters.push(message);
        continue;
      }
      if (planned.change !== undefined && options.dryRun === true) report.retargeted.push(planned.change);
      if (options.dryRun !== true) sendable.push({ message, body: encodeEnvelope(redriven(planned.envelope)), change: planned.change });
    }
    if (options.dryRun === true) {
      options.onProgress?.(seen.length, report.total);
      continue;
    }

    const results = await options.to.send(sendable.map(({ message, body }) => ({ id: message.messageId, body })));
    const sent = new Set(results.filter((result) => result.ok).map((result) => result.id));
    const handles = sendable.filter(({ message }) => sent.has(message.messageId)).map(({ message }) => message.receiptHandle);
    const notDeleted = await options.from.delete(handles);
    if (notDeleted.length > 0) {
      // The jobs are already back in the jobs queue; a second copy is harmless because starts are idempotent.
      logger.warn("failed to delete redriven jobs from the dead-letter queue; they will be redriven again", { jobs: notDeleted.length });
    }
    for (const { message, change } of sendable) {
      if (change === undefined || !sent.has(message.messageId)) continue;
      report.retargeted.push(change);
      logger.info("dead-lettered job re-targeted", { ...change });
    }
    for (const result of results) {
      if (result.ok) continue;
      logger.error("failed to send a dead-lettered job back to the jobs queue", { messageId: result.id, code: result.error.code, reason: result.error.message });
    }
    report.moved += sent.size;
    report.failed += results.length - sent.size;
    options.onProgress?.(report.moved + report.failed + report.invalid, report.total);
  }

  const keep = options.dryRun === true ? seen : keptInDeadLetters;
  if (keep.length > 0) {
    // Make what was only counted visible again at once instead of after the visibility timeout.
    await options.from.changeVisibility(keep.map((message) => ({ receiptHandle: message.receiptHandle, visibilityTimeoutMs: 0 })));
  }
  return report;
}

/**
 * Decides what happens to one dead-lettered job: moved as it is, moved re-targeted (with the
 * change to report), or kept in the dead-letter queue (undefined, counted in `report`).
 */
function planMove(envelope: JobEnvelope, target: RedriveTarget | undefined, report: RedriveReport): { envelope: JobEnvelope; change: RetargetedJob | undefined } | undefined {
  if (target === undefined) return { envelope, change: undefined };
  const job = envelope.job;
  if (target.fromWorkflowId !== undefined && job.workflowId !== target.fromWorkflowId) {
    report.otherWorkflow += 1;
    return undefined;
  }
  const result = retargetJob(job, target);
  if (!result.ok) {
    report.withoutIdentity += 1;
    logger.warn("dead-lettered job cannot be re-targeted; it stays in the dead-letter queue", {
      actionInstanceId: job.actionInstanceId,
      workflowId: job.workflowId,
      source: job.source,
      reason: result.reason,
    });
    return undefined;
  }
  const next = result.job;
  const unchanged = next.actionInstanceId === job.actionInstanceId && next.workspaceId === job.workspaceId && next.projectId === job.projectId;
  const change: RetargetedJob | undefined = unchanged
    ? undefined
    : {
        source: job.source,
        alertKey: job.alertKey.slice(0, 200),
        oldActionInstanceId: job.actionInstanceId,
        newActionInstanceId: next.actionInstanceId,
        oldWorkflowId: job.workflowId,
        newWorkflowId: next.workflowId,
        oldWorkspaceId: job.workspaceId,
        newWorkspaceId: next.workspaceId,
      };
  return { envelope: { ...envelope, job: next }, change };
}

/** Key of failed scheduled runs in `byErrorCode`: Lambda gave up on the schedule function's event. */
export const SCHEDULED_RUN_FAILED = "LAMBDA.SCHEDULED_RUN_FAILED";

/**
 * Reads a Lambda invocation record of a failed schedule event, which the schedule function's
 * on-failure destination sends to the dead-letter queue after Lambda's retries. Returns undefined
 * for any other message. The record carries the event as `requestPayload`, Lambda's reason in
 * `requestContext.condition` and the function's error in `responsePayload`.
 */
export function readFailedInvocation(body: string): { event: { schedule: string; time: string }; reason: string } | undefined {
  let record: unknown;
  try {
    record = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(record) || !isObject(record.requestContext) || !isObject(record.requestPayload)) return undefined;
  const { condition } = record.requestContext;
  const { schedule, time } = record.requestPayload;
  if (typeof condition !== "string" || typeof schedule !== "string" || typeof time !== "string") return undefined;
  const error = isObject(record.responsePayload) && typeof record.responsePayload.errorMessage === "string" ? record.responsePayload.errorMessage : undefined;
  return { event: record.requestPayload as { schedule: string; time: string }, reason: error === undefined ? condition : `${condition}: ${error.slice(0, 300)}` };
}

/**
 * Turns a failed scheduled run's record into a job envelope when `plan` is given and accepts its
 * event. Returns undefined for a message that is not such a record, and `{ envelope: undefined }`
 * for one that stays in the dead-letter queue. The run is recorded in the report either way.
 */
function readScheduledRunRecord(
  body: string,
  plan: ((event: unknown) => StartJob) | undefined,
  report: RedriveReport,
): { envelope: JobEnvelope | undefined } | undefined {
  const record = readFailedInvocation(body);
  if (record === undefined) return undefined;
  const run: FailedScheduledRun = { schedule: record.event.schedule.slice(0, 64), time: record.event.time.slice(0, 64), reason: record.reason, planned: false };
  report.scheduledRuns.push(run);
  if (plan === undefined) return { envelope: undefined };
  try {
    // Moved as a dead-lettered job is, with one earlier attempt, because in direct mode the failed
    // invocation may have created the instance.
    const envelope = newEnvelope(plan(record.event));
    run.planned = true;
    return { envelope };
  } catch (error) {
    logger.warn("failed scheduled run cannot be planned; it stays in the dead-letter queue", {
      schedule: run.schedule,
      time: run.time,
      reason: error instanceof Error ? error.message : String(error),
    });
    return { envelope: undefined };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function tryDecode(body: string): JobEnvelope | undefined {
  try {
    return decodeEnvelope(body);
  } catch {
    return undefined;
  }
}

// The job goes back as a fresh message whose earlier attempts make dispatch look before posting.
function redriven(envelope: JobEnvelope): JobEnvelope {
  const attempts = envelope.priorAttempts + Math.max(1, envelope.lastError?.receiveCount ?? 1);
  return { kind: envelope.kind, version: envelope.version, job: envelope.job, priorAttempts: attempts };
}
