import * as z from "zod";
import { normalizeTime } from "../alert/time";
import type { Starter } from "../delivery/start";
import { describeStartFailure } from "../delivery/start";
import { BridgeError, InvalidInputError } from "../errors";
import type { DefaultTarget } from "../ingest";
import { logger } from "../logger";
import { parsePayload } from "../sources/parse";
import type { Schedule } from "./load";
import { findSchedule, planScheduledRun } from "./run";

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
  status: "created" | "duplicate" | "skipped";
  reason?: string;
}

/** Dependencies of a scheduled run, taken from the runtime. */
export interface ScheduleDeps {
  schedules: readonly Schedule[];
  target: DefaultTarget;
  starter: Pick<Starter, "start">;
}

/**
 * Starts the workflow instance of one scheduled event. A disabled schedule is reported as
 * skipped.
 *
 * @throws InvalidInputError for an event that is not a schedule event, names an unknown
 *   schedule, or has an invalid time; BridgeError `BRIDGE.START_FAILED` when SecMaster did not
 *   start the instance, so that Lambda retries the event.
 */
export async function runScheduledEvent(event: unknown, deps: ScheduleDeps, signal?: AbortSignal): Promise<ScheduledRunResult> {
  const parsed = parsePayload(scheduledEventSchema, event, "schedule");
  const schedule = findSchedule(deps.schedules, parsed.schedule);
  const scheduledTime = normalizeTime(parsed.time, { field: "time" });
  if (scheduledTime === undefined) {
    throw new InvalidInputError("BRIDGE.TIME_INVALID", "schedule event has no time", { field: "time", fix: "map $.time into the event" });
  }
  const job = planScheduledRun(schedule, scheduledTime, deps.target);
  const ids = { schedule: schedule.name, scheduled_time: scheduledTime, action_instance_id: job.actionInstanceId, workflow_id: job.workflowId };
  if (!schedule.enabled) {
    logger.warn("event for a disabled schedule skipped", { schedule: schedule.name, scheduledTime });
    return { ...ids, status: "skipped", reason: "the schedule is disabled in the schedules file" };
  }

  try {
    const outcome = await deps.starter.start(job, signal);
    logger.info("scheduled run started", { schedule: schedule.name, scheduledTime, actionInstanceId: job.actionInstanceId, status: outcome.status, eventId: parsed.event_id });
    return { ...ids, status: outcome.status === "duplicate" ? "duplicate" : "created" };
  } catch (error) {
    const failure = describeStartFailure(error);
    logger.error("failed to start scheduled run", { schedule: schedule.name, scheduledTime, actionInstanceId: job.actionInstanceId, code: failure.code, reason: failure.reason });
    throw new BridgeError(
      "BRIDGE.START_FAILED",
      `failed to start workflow instance ${job.actionInstanceId} for schedule ${schedule.name} at ${scheduledTime}: ${failure.reason}`,
      { statusCode: 502, cause: error },
    );
  }
}
