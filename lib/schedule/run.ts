import type { StartJob } from "../delivery/job";
import { enqueueJobs, type MessageQueue } from "../delivery/queue";
import { BridgeError, InvalidInputError } from "../errors";
import { actionInstanceId } from "../identity";
import type { DefaultTarget } from "../ingest";
import { renderScheduledAlert, type Schedule } from "./load";

/** Source id of scheduled runs in ids and logs. */
export const SCHEDULE_SOURCE = "schedule";

/**
 * Plans the run of a schedule at one scheduled time. The `action_instance_id` derives from the
 * schedule name, the scheduled time and the workflow, so a second delivery of the same
 * EventBridge event, or `schedule run` at the same time, maps to the instance already started.
 *
 * @param scheduledTime RFC 3339 UTC with milliseconds, as `normalizeTime` returns it.
 */
export function planScheduledRun(schedule: Schedule, scheduledTime: string, defaultTarget: DefaultTarget): StartJob {
  const target = schedule.target;
  const workflowId = target?.workflow_id ?? defaultTarget.workflowId;
  return {
    actionInstanceId: actionInstanceId({ source: SCHEDULE_SOURCE, scope: "", key: schedule.name, episode: scheduledTime, workflowId }),
    projectId: target?.project_id ?? defaultTarget.projectId,
    workspaceId: target?.workspace_id ?? defaultTarget.workspaceId,
    workflowId,
    dataclass: target?.dataclass ?? defaultTarget.dataclass,
    source: SCHEDULE_SOURCE,
    alertKey: schedule.name,
    identity: { scope: "", key: schedule.name, episode: scheduledTime },
    content: renderScheduledAlert(schedule, scheduledTime),
  };
}

/**
 * Returns the schedule of a given name.
 *
 * @throws InvalidInputError `BRIDGE.SCHEDULE_UNKNOWN` when the file declares no such schedule.
 */
export function findSchedule(schedules: readonly Schedule[], name: string): Schedule {
  const schedule = schedules.find((candidate) => candidate.name === name);
  if (schedule !== undefined) return schedule;
  const known = schedules.map((candidate) => candidate.name).join(", ") || "none";
  throw new InvalidInputError("BRIDGE.SCHEDULE_UNKNOWN", `unknown schedule ${JSON.stringify(name.slice(0, 64))}; declared schedules: ${known}`, {
    field: "schedule",
    fix: "deploy the schedules file that declares it, or correct the name",
  });
}

/** One planned run of a schedule, as {@link enqueueScheduledRun} sends it. */
export interface PlannedScheduledRun {
  schedule: string;
  /** RFC 3339 UTC with milliseconds. */
  scheduledTime: string;
  job: StartJob;
}

/**
 * Enqueues the start job of one scheduled run in the envelope that ingest uses in queue mode, so
 * that dispatch starts it with the idempotency table, retries and the dead-letter queue. Returns
 * the queue's message id.
 *
 * @throws BridgeError with the queue's code (`BRIDGE.ENQUEUE_FAILED`, `BRIDGE.QUEUE_UNAVAILABLE`
 *   or `BRIDGE.JOB_TOO_LARGE`) when the queue did not take the job, so that the caller fails and
 *   the run is tried again.
 */
export async function enqueueScheduledRun(queue: MessageQueue, run: PlannedScheduledRun): Promise<string> {
  const outcome = (await enqueueJobs(queue, [run.job]))[0]!;
  if (outcome.status === "accepted") return outcome.messageId;

  const { error } = outcome;
  throw new BridgeError(
    error.code,
    `failed to enqueue the start job ${run.job.actionInstanceId} for schedule ${run.schedule} at ${run.scheduledTime}: ${error.message}`,
    { statusCode: error.statusCode, cause: error, ...(error.fix === undefined ? {} : { fix: error.fix }) },
  );
}
