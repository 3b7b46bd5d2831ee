import { randomUUID } from "node:crypto";
import { ConfigError, InvalidInputError } from "../errors";
import { logger } from "../logger";
import { isPlainRecord } from "../sources/json-path";
import { retargetJob, type JobTarget, type StartJob } from "./job";
import { decodeEnvelope, encodeEnvelope, encodeJob, newEnvelope, type JobEnvelope, type MessageQueue, type ReceivedMessage } from "./queue";

/** Settings of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  /** The dead-letter queue. */
  from: MessageQueue;
  /** The jobs queue that dispatch reads. */
  to: MessageQueue;
  /** Count and summarize the dead letters without moving any. */
  dryRun?: boolean;
  /**
   * Handle at most this many dead-letter messages. A message is one job, or the record of one
   * failed scheduled run or AWS event, which may become several jobs.
   */
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
   * Without it, such records stay in the dead-letter queue and are only listed. Planned jobs
   * keep the target and id of their schedule, so `retarget` does not apply to them.
   */
  planScheduledRun?: (event: unknown) => StartJob;
  /**
   * Plans the start jobs of an AWS event (EventBridge or SNS) that the events function failed on,
   * from its Lambda invocation record. It throws for an event it cannot plan, and returns no job
   * when every alert of the event is skipped. Without it, such records stay in the dead-letter
   * queue and are only listed.
   */
  planFailedEvent?: (event: unknown) => StartJob[];
  /**
   * Deletes the records that can never be planned instead of keeping them. These are scheduled
   * runs of a schedule that the schedules file no longer declares or has disabled, and AWS events
   * that `planFailedEvent` rejects as invalid input, such as an event no adapter reads or one that
   * fails its source's schema. A dry run deletes nothing.
   */
  dropUnplannable?: boolean;
  /** Called after each batch with the jobs handled so far and the count found at the start. */
  onProgress?: (done: number, total: number) => void;
}

/** A scheduled run whose invocations Lambda gave up on, read from its invocation record. */
export interface FailedScheduledRun {
  schedule: string;
  /** The event's time as the record carries it. */
  time: string;
  /** Lambda's condition for giving up and the function's error message of the last invocation. */
  reason: string;
  /**
   * Whether its start job was planned. A planned job then moves as a dead-lettered job does, and
   * a failed send counts in `failed`. An unplanned run stays in the dead-letter queue.
   */
  planned: boolean;
  /** The planner's reason for rejecting the run, when it did. */
  problem?: string;
  /** Whether the problem is an unknown or disabled schedule, so that `dropUnplannable` deletes the record. */
  droppable: boolean;
  /** Whether the record was deleted because it cannot be planned (`dropUnplannable`). */
  dropped?: boolean;
  /** Whether its start job reached the jobs queue and the record left the dead-letter queue. */
  moved?: boolean;
}

/** An AWS event whose invocations Lambda gave up on, read from its invocation record. */
export interface FailedEvent {
  /** Label of the event, such as `GuardDuty Finding 2f6a…` or `SNS message 5f2e…`. */
  event: string;
  /** Lambda's condition for giving up and the function's error message of the last invocation. */
  reason: string;
  /** Count of the start jobs planned for its alerts, when it was planned. */
  jobs?: number;
  /** The planner's reason for rejecting the event, when it did. */
  problem?: string;
  /** Whether the problem is in the event itself, so that `dropUnplannable` deletes the record. */
  droppable?: boolean;
  /** Whether the record was deleted because it cannot be planned (`dropUnplannable`). */
  dropped?: boolean;
  /** Whether all its start jobs reached the jobs queue and the record left the dead-letter queue. */
  moved?: boolean;
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
  oldProjectId: string;
  newProjectId: string;
}

/** Counts of one redrive. */
export interface RedriveReport {
  /** Dead letters counted at the start (an estimate for SQS). */
  total: number;
  /**
   * Messages whose jobs were all sent back to the jobs queue and that were deleted from the
   * dead-letter queue; 0 in a dry run.
   */
  moved: number;
  /** Messages with a job that could not be sent back; they stay in the dead-letter queue. */
  failed: number;
  /**
   * Messages that are neither jobs (such as an invalid body that dispatch dead-lettered) nor
   * records of failed scheduled runs or AWS events; they stay where they are.
   */
  invalid: number;
  /** Failed scheduled runs found, planned or kept, in the order they were seen. */
  scheduledRuns: FailedScheduledRun[];
  /** Failed AWS events found, planned or kept, in the order they were seen. */
  failedEvents: FailedEvent[];
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
    failedEvents: [],
    byErrorCode: {},
    retargeted: [],
    otherWorkflow: 0,
    withoutIdentity: 0,
  };
  const seen: ReceivedMessage[] = [];
  // Messages that stay in the dead-letter queue: not jobs, another workflow, not re-targetable,
  // or scheduled runs that were not planned.
  const keptInDeadLetters: ReceivedMessage[] = [];
  // Records of scheduled runs that cannot be planned, deleted with `dropUnplannable`.
  const dropped: ReceivedMessage[] = [];
  // Every message read counts toward the limit, whatever happens to it. A dry run moves none, so
  // there the messages read are counted.
  const handled = () => (options.dryRun === true ? seen.length : report.moved + report.failed + keptInDeadLetters.length + dropped.length);
  let emptyReceives = 0;

  // SQS may return nothing from a receive while messages remain, so the loop stops after two empty receives in a row.
  while (handled() < limit && emptyReceives < 2) {
    const batch = await options.from.receive({
      maxMessages: Math.min(10, limit - handled()),
      visibilityTimeoutMs,
      waitTimeMs: 1_000,
    });
    if (batch.length === 0) {
      emptyReceives += 1;
      continue;
    }
    emptyReceives = 0;
    seen.push(...batch);

    // One message may carry several jobs: a failed event has one per alert and workflow.
    const sendable: Sendable[] = [];
    for (const message of batch) {
      const envelope = tryDecode(message.body);
      if (envelope === undefined) {
        const record = readInvocationRecord(message.body);
        if (record !== undefined && !isScheduledRunEvent(record.event)) {
          report.byErrorCode[EVENT_FAILED] = (report.byErrorCode[EVENT_FAILED] ?? 0) + 1;
          const failed = planFailedEvent(record, options.planFailedEvent, report);
          if (failed.bodies !== undefined) {
            // The event's jobs keep the ids that routing gives them now, so they are never re-targeted.
            if (options.dryRun !== true) sendable.push({ message, bodies: failed.bodies, change: undefined, failedEvent: failed.entry });
          } else if (failed.entry.droppable === true && options.dropUnplannable === true && options.dryRun !== true) {
            failed.entry.dropped = true;
            dropped.push(message);
          } else {
            keptInDeadLetters.push(message);
          }
          continue;
        }
        const scheduled = readScheduledRunRecord(record, options.planScheduledRun, report);
        const code = scheduled === undefined ? "BRIDGE.JOB_INVALID" : SCHEDULED_RUN_FAILED;
        report.byErrorCode[code] = (report.byErrorCode[code] ?? 0) + 1;
        if (scheduled === undefined) report.invalid += 1;
        if (scheduled?.envelope !== undefined) {
          // The schedule's own target and id, so that the run cannot start under a second id.
          if (options.dryRun !== true) sendable.push({ message, bodies: [encodeEnvelope(scheduled.envelope)], change: undefined, run: scheduled.run });
        } else if (scheduled?.run.droppable === true && options.dropUnplannable === true && options.dryRun !== true) {
          scheduled.run.dropped = true;
          dropped.push(message);
        } else {
          keptInDeadLetters.push(message);
        }
        continue;
      }
      const code = envelope.lastError?.code ?? "(none)";
      report.byErrorCode[code] = (report.byErrorCode[code] ?? 0) + 1;
      const planned = planMove(envelope, options.retarget, report);
      if (planned === undefined) {
        keptInDeadLetters.push(message);
        continue;
      }
      if (planned.change !== undefined && options.dryRun === true) report.retargeted.push(planned.change);
      if (options.dryRun !== true) sendable.push({ message, bodies: [encodeEnvelope(redriven(planned.envelope))], change: planned.change });
    }
    if (options.dryRun === true) {
      options.onProgress?.(seen.length, report.total);
      continue;
    }

    const results = await options.to.send(sendable.flatMap(({ message, bodies }) => bodies.map((body, index) => ({ id: `${message.messageId}/${index}`, body }))));
    const sentIds = new Set(results.filter((result) => result.ok).map((result) => result.id));
    // A message leaves the dead-letter queue only when every one of its jobs reached the jobs
    // queue. A partly sent event is sent whole again by the next redrive, which starts nothing
    // twice because starts are idempotent. A job without a result counts as not sent.
    const sent = new Set(
      sendable.filter(({ message, bodies }) => bodies.every((_, index) => sentIds.has(`${message.messageId}/${index}`))).map(({ message }) => message.messageId),
    );
    const handles = sendable.filter(({ message }) => sent.has(message.messageId)).map(({ message }) => message.receiptHandle);
    const notDeleted = await options.from.delete(handles);
    if (notDeleted.length > 0) {
      // The jobs are already back in the jobs queue; a second copy is harmless because starts are idempotent.
      logger.warn("failed to delete redriven jobs from the dead-letter queue; they will be redriven again", { jobs: notDeleted.length });
    }
    for (const { message, change, run, failedEvent } of sendable) {
      if (run !== undefined) run.moved = sent.has(message.messageId);
      if (failedEvent !== undefined) failedEvent.moved = sent.has(message.messageId);
      if (change === undefined || !sent.has(message.messageId)) continue;
      report.retargeted.push(change);
      logger.info("dead-lettered job re-targeted", { ...change });
    }
    for (const result of results) {
      if (result.ok) continue;
      logger.error("failed to send a dead-lettered job back to the jobs queue", { messageId: result.id, code: result.error.code, reason: result.error.message });
    }
    report.moved += sent.size;
    report.failed += sendable.length - sent.size;
    options.onProgress?.(handled(), report.total);
  }

  if (dropped.length > 0) {
    const notDropped = await options.from.delete(dropped.map((message) => message.receiptHandle));
    logger.warn("deleted records of scheduled runs and AWS events that cannot be planned from the dead-letter queue", { records: dropped.length - notDropped.length });
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
        oldProjectId: job.projectId,
        newProjectId: next.projectId,
      };
  return { envelope: { ...envelope, job: next }, change };
}

// Planner errors of runs whose schedule the schedules file no longer declares or has disabled.
const DROPPABLE_CODES = new Set(["BRIDGE.SCHEDULE_UNKNOWN", "BRIDGE.SCHEDULE_DISABLED"]);

/** Key of failed scheduled runs in `byErrorCode`: Lambda gave up on the schedule function's event. */
export const SCHEDULED_RUN_FAILED = "LAMBDA.SCHEDULED_RUN_FAILED";

/**
 * Reads a Lambda invocation record of a failed schedule event, which the schedule function's
 * on-failure destination sends to the dead-letter queue after Lambda's retries. Returns undefined
 * for any other message. The record carries the event as `requestPayload`, Lambda's reason in
 * `requestContext.condition` and the function's error in `responsePayload`.
 */
export function readFailedInvocation(body: string): { event: { schedule: string; time: string }; reason: string } | undefined {
  const record = readInvocationRecord(body);
  if (record === undefined || !isScheduledRunEvent(record.event)) return undefined;
  return { event: record.event, reason: record.reason };
}

/** A Lambda invocation record of an asynchronous event that Lambda gave up on. */
interface InvocationRecord {
  /** The function's event, `requestPayload`. */
  event: Record<string, unknown>;
  /** Lambda's condition for giving up, followed by the function's error message when there is one. */
  reason: string;
}

/**
 * Reads a Lambda invocation record, which an on-failure destination sends for an asynchronous
 * event after Lambda's retries. Returns undefined for any other message.
 */
function readInvocationRecord(body: string): InvocationRecord | undefined {
  let record: unknown;
  try {
    record = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isPlainRecord(record) || !isPlainRecord(record.requestContext) || !isPlainRecord(record.requestPayload)) return undefined;
  const { condition } = record.requestContext;
  if (typeof condition !== "string") return undefined;
  const error = isPlainRecord(record.responsePayload) && typeof record.responsePayload.errorMessage === "string" ? record.responsePayload.errorMessage : undefined;
  return { event: record.requestPayload, reason: error === undefined ? condition : `${condition}: ${error.slice(0, 300)}` };
}

// The schedule function's event names its schedule and time; the events function's never does.
function isScheduledRunEvent(event: Record<string, unknown>): event is { schedule: string; time: string } {
  return typeof event.schedule === "string" && typeof event.time === "string";
}

/**
 * Turns a failed scheduled run's record into a job envelope when `plan` is given and accepts its
 * event. Returns undefined for a message that is not such a record. The run is recorded in the
 * report either way, with the planner's problem when it rejected the event.
 */
function readScheduledRunRecord(
  record: InvocationRecord | undefined,
  plan: ((event: unknown) => StartJob) | undefined,
  report: RedriveReport,
): { envelope: JobEnvelope | undefined; run: FailedScheduledRun } | undefined {
  if (record === undefined || !isScheduledRunEvent(record.event)) return undefined;
  const run: FailedScheduledRun = { schedule: printable(record.event.schedule), time: printable(record.event.time), reason: printable(record.reason), planned: false, droppable: false };
  report.scheduledRuns.push(run);
  if (plan === undefined) return { envelope: undefined, run };
  try {
    // A fresh job with one earlier attempt, so dispatch looks the instance up before posting:
    // in direct mode the failed invocation may have created it.
    const envelope = newEnvelope(plan(record.event), 1);
    run.planned = true;
    return { envelope, run };
  } catch (error) {
    run.problem = printable(planProblem(error));
    logger.warn("failed scheduled run cannot be planned", { schedule: run.schedule, time: run.time, reason: run.problem });
    // Only a schedule the file no longer runs makes the record droppable: never an invalid time,
    // which may be a bug to look into, nor a missing setting of this redrive.
    run.droppable = error instanceof InvalidInputError && DROPPABLE_CODES.has(error.code);
    return { envelope: undefined, run };
  }
}

/** Key of failed AWS events in `byErrorCode`: Lambda gave up on the events function's event. */
export const EVENT_FAILED = "LAMBDA.EVENT_FAILED";

/**
 * Plans the start jobs of a failed AWS event when `plan` is given and accepts it, and returns
 * their message bodies. Each job has one earlier attempt, so that dispatch looks its instance up
 * before posting, and is shortened to fit a queue message as the events function shortens it.
 * The event is recorded in the report either way, with the problem when it was not planned.
 */
function planFailedEvent(
  record: InvocationRecord,
  plan: ((event: unknown) => StartJob[]) | undefined,
  report: RedriveReport,
): { bodies: string[] | undefined; entry: FailedEvent } {
  const entry: FailedEvent = { event: printable(describeEvent(record.event)), reason: printable(record.reason) };
  report.failedEvents.push(entry);
  if (plan === undefined) return { bodies: undefined, entry };
  try {
    const bodies: string[] = [];
    for (const job of plan(record.event)) {
      const encoded = encodeJob(job, (fitted) => newEnvelope(fitted, 1));
      if (!encoded.ok) throw encoded.error;
      bodies.push(encoded.body);
    }
    entry.jobs = bodies.length;
    return { bodies, entry };
  } catch (error) {
    entry.problem = printable(planProblem(error));
    // A problem in the event itself never goes away; a missing setting of this redrive does.
    entry.droppable = error instanceof InvalidInputError;
    logger.warn("failed AWS event cannot be planned", { event: entry.event, reason: entry.problem });
    return { bodies: undefined, entry };
  }
}

// Names an EventBridge event by its detail type and id, and an SNS event by its first message id.
function describeEvent(event: Record<string, unknown>): string {
  if (typeof event["detail-type"] === "string") return `${event["detail-type"]} ${typeof event.id === "string" ? event.id : "(no id)"}`;
  const first: unknown = Array.isArray(event.Records) ? event.Records[0] : undefined;
  if (isPlainRecord(first) && isPlainRecord(first.Sns) && typeof first.Sns.MessageId === "string") return `SNS message ${first.Sns.MessageId}`;
  return "event of unknown shape";
}

// A missing setting reads as its one-line issues rather than the multi-line configuration message.
function planProblem(error: unknown): string {
  if (error instanceof ConfigError) return error.issues.join("; ");
  if (error instanceof Error) return error.message;
  return String(error);
}

// Text from a queue message reaches the terminal, so control characters are replaced and the length capped.
function printable(text: string): string {
  return text.slice(0, 300).replace(/\p{Cc}/gu, "?");
}

/**
 * Builds the invocation record that Lambda's on-failure destination sends for an asynchronous
 * event it gave up on, in the fields {@link readFailedInvocation} reads. The local scheduler
 * writes it to the local dead-letter queue, so that a local failed run can be redriven as on AWS.
 */
export function failedInvocationRecord(event: unknown, error: unknown, functionArn: string, now: Date = new Date()): string {
  const errorType = error instanceof Error ? error.name : "Error";
  const errorMessage = error instanceof Error ? error.message : String(error);
  return JSON.stringify({
    version: "1.0",
    timestamp: now.toISOString(),
    requestContext: { requestId: randomUUID(), functionArn: `${functionArn}:$LATEST`, condition: "RetriesExhausted", approximateInvokeCount: 1 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    responsePayload: { errorType, errorMessage },
  });
}

/** Messages of one batch to send back, with what to report once they are sent. */
interface Sendable {
  message: ReceivedMessage;
  bodies: string[];
  change: RetargetedJob | undefined;
  run?: FailedScheduledRun;
  failedEvent?: FailedEvent;
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
