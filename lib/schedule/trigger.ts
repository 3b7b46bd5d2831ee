import * as z from "zod";
import { normalizeTime } from "../alert/time";
import type { StartJob } from "../delivery/job";
import type { MessageQueue } from "../delivery/queue";
import { settleRejectedStarts } from "../delivery/rejected";
import type { Starter } from "../delivery/start";
import { describeStartFailure } from "../delivery/start";
import { BridgeError, InvalidInputError } from "../errors";
import type { AlertResult, DefaultTarget } from "../ingest";
import { logger } from "../logger";
import { parsePayload } from "../sources/parse";
import type { Schedule } from "./load";
import { enqueueScheduledRun, findSchedule, planScheduledRun } from "./run";

/**
 * The event the EventBridge rule of a schedule sends. The rule's input transformer replaces the
 * scheduled event with the schedule's name, the event's `time` and its `id`:
 *
 * @example
 * { "schedule": "nightly-posture", "time": "2026-01-15T18:00:00Z", "event_id": "5c1e…" }
 */
export const scheduledEventSchema = z
  .object({
    schedule: z.string().min(1).max(64),
    time: z.string().min(1),
    event_id: z.string().optional(),
  })
  .loose();

/** Outcome of one scheduled run. */
export interface ScheduledRunResult {
  schedule: string;
  scheduled_time: string;
  action_instance_id: string;
  workflow_id: string;
  /**
   * `created` or `duplicate` when direct mode started the instance or found it started,
   * `accepted` when queue mode enqueued its start job, `skipped` for a disabled schedule, and
   * `dead-lettered` when SecMaster rejected a direct-mode start in a way a retry cannot fix and
   * the job went to the dead-letter queue for `secmaster-bridge redrive`.
   */
  status: "created" | "duplicate" | "accepted" | "skipped" | "dead-lettered";
  reason?: string;
}

/** Dependencies of a scheduled run in direct mode, taken from the runtime. */
export interface ScheduleDeps {
  schedules: readonly Schedule[];
  target: DefaultTarget;
  starter: Pick<Starter, "start">;
  /** Queue that keeps runs SecMaster rejects for good; without one such a run fails the invocation. */
  deadLetters?: MessageQueue | undefined;
}

/** Dependencies of a scheduled run in queue mode: the jobs queue, and no SecMaster client. */
export interface ScheduleQueueDeps {
  schedules: readonly Schedule[];
  target: DefaultTarget;
  queue: MessageQueue;
}

/** A validated schedule event with the job it maps to. */
interface ScheduledEventRun {
  schedule: Schedule;
  scheduledTime: string;
  eventId: string | undefined;
  job: StartJob;
  ids: Pick<ScheduledRunResult, "schedule" | "scheduled_time" | "action_instance_id" | "workflow_id">;
}

// The generic payload fix points to a sender's page; a schedule event comes from the generated rule.
function parseScheduledEvent(event: unknown): z.infer<typeof scheduledEventSchema> {
  try {
    return parsePayload(scheduledEventSchema, event, "schedule");
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(error.code, error.message, {
      ...(error.field === undefined ? {} : { field: error.field }),
      cause: error,
      fix: 'send the input of the schedule\'s EventBridge rule, {"schedule": NAME, "time": <$.time>}; see "Running schedules" in docs/routing.md',
    });
  }
}

/**
 * Parses a schedule event and plans its job. The same event always maps to the same
 * `action_instance_id`, whichever mode then runs it.
 *
 * @throws InvalidInputError as {@link runScheduledEvent} lists.
 */
function readScheduledEvent(event: unknown, schedules: readonly Schedule[], target: DefaultTarget): ScheduledEventRun {
  const parsed = parseScheduledEvent(event);
  const schedule = findSchedule(schedules, parsed.schedule);
  const scheduledTime = normalizeTime(parsed.time, { field: "time" });
  if (scheduledTime === undefined) {
    throw new InvalidInputError("BRIDGE.TIME_INVALID", "schedule event has no time", { field: "time", fix: "map $.time into the event" });
  }
  const job = planScheduledRun(schedule, scheduledTime, target);
  const ids = { schedule: schedule.name, scheduled_time: scheduledTime, action_instance_id: job.actionInstanceId, workflow_id: job.workflowId };
  return { schedule, scheduledTime, eventId: parsed.event_id, job, ids };
}

/**
 * Plans the start job of a schedule event as the schedule function would, for `redrive` to move a
 * run that Lambda gave up on. The job has the same `action_instance_id` as the failed run's.
 *
 * @throws InvalidInputError for an event that is not a schedule event, names an unknown or
 *   disabled schedule, or has an invalid time.
 */
export function planScheduledEvent(event: unknown, schedules: readonly Schedule[], target: DefaultTarget): StartJob {
  const run = readScheduledEvent(event, schedules, target);
  if (!run.schedule.enabled) {
    throw new InvalidInputError("BRIDGE.SCHEDULE_DISABLED", `schedule ${run.schedule.name} is disabled in the schedules file`, {
      field: "schedule",
      fix: "enable the schedule to run it, or delete the record from the dead-letter queue",
    });
  }
  return run.job;
}

function skipDisabled(run: ScheduledEventRun): ScheduledRunResult {
  logger.warn("event for a disabled schedule skipped", { schedule: run.schedule.name, scheduledTime: run.scheduledTime });
  return { ...run.ids, status: "skipped", reason: "the schedule is disabled in the schedules file" };
}

/**
 * Direct mode: starts the workflow instance of one scheduled event. A disabled schedule is
 * reported as skipped.
 *
 * @throws InvalidInputError for an event that is not a schedule event, names an unknown
 *   schedule, or has an invalid time; BridgeError `BRIDGE.START_FAILED` when SecMaster did not
 *   start the instance, so that Lambda retries the event.
 */
export async function runScheduledEvent(event: unknown, deps: ScheduleDeps, signal?: AbortSignal): Promise<ScheduledRunResult> {
  const run = readScheduledEvent(event, deps.schedules, deps.target);
  const { schedule, scheduledTime, job } = run;
  if (!schedule.enabled) return skipDisabled(run);

  try {
    const outcome = await deps.starter.start(job, signal);
    logger.info("scheduled run started", { schedule: schedule.name, scheduledTime, actionInstanceId: job.actionInstanceId, status: outcome.status, eventId: run.eventId });
    return { ...run.ids, status: outcome.status === "duplicate" ? "duplicate" : "created" };
  } catch (error) {
    const failure = describeStartFailure(error);
    logger.error("failed to start scheduled run", { schedule: schedule.name, scheduledTime, actionInstanceId: job.actionInstanceId, code: failure.code, reason: failure.reason });
    // A rejection that retries cannot fix is kept for redrive, as ingest keeps rejected alerts;
    // Lambda's own retries of the event would fail the same way and then drop it.
    if (!failure.retryable && deps.deadLetters !== undefined) {
      const rejected: AlertResult = { action_instance_id: job.actionInstanceId, workflow_id: job.workflowId, status: "failed", reason: failure.reason, code: failure.code };
      const { results } = await settleRejectedStarts([rejected], new Map([[job.actionInstanceId, { job, error }]]), { deadLetters: deps.deadLetters });
      if (results[0]?.status === "dead-lettered") return { ...run.ids, status: "dead-lettered", reason: results[0].reason };
    }
    throw new BridgeError(
      "BRIDGE.START_FAILED",
      `failed to start workflow instance ${job.actionInstanceId} for schedule ${schedule.name} at ${scheduledTime}: ${failure.reason}`,
      { statusCode: 502, cause: error },
    );
  }
}

/**
 * Queue mode: enqueues the start job of one scheduled event, the same job and envelope that
 * ingest enqueues, so dispatch starts it with the idempotency table, retries and the dead-letter
 * queue. A disabled schedule is reported as skipped and nothing is enqueued.
 *
 * @throws InvalidInputError as {@link runScheduledEvent} does; BridgeError with the queue's
 *   code (`BRIDGE.ENQUEUE_FAILED`, `BRIDGE.QUEUE_UNAVAILABLE`, `BRIDGE.JOB_TOO_LARGE`) when the
 *   queue did not take the job, so that Lambda retries the event under the same id.
 */
export async function enqueueScheduledEvent(event: unknown, deps: ScheduleQueueDeps): Promise<ScheduledRunResult> {
  const run = readScheduledEvent(event, deps.schedules, deps.target);
  const { schedule, scheduledTime, job } = run;
  if (!schedule.enabled) return skipDisabled(run);

  const where = { schedule: schedule.name, scheduledTime, actionInstanceId: job.actionInstanceId, queue: deps.queue.name, eventId: run.eventId };
  try {
    const messageId = await enqueueScheduledRun(deps.queue, { schedule: schedule.name, scheduledTime, job });
    logger.info("scheduled run queued", { ...where, messageId });
  } catch (error) {
    if (!(error instanceof BridgeError)) throw error;
    logger.error("failed to enqueue scheduled run", { ...where, code: error.code, reason: error.message });
    throw error;
  }
  return { ...run.ids, status: "accepted" };
}
