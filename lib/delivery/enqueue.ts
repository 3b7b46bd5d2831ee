import { planDelivery, type AlertResult, type IngestOptions, type IngestRequest } from "../ingest";
import { logger } from "../logger";
import type { DeliveryOutcome, PermanentFailure } from "./outcome";
import { enqueueJobs, type MessageQueue } from "./queue";
import type { TruncatedField } from "./truncate";

/** Settings of {@link enqueueDelivery}. */
export interface EnqueueOptions extends Pick<IngestOptions, "target" | "routes" | "defaultSeverity" | "onUnknownSeverity"> {
  queue: MessageQueue;
  /**
   * Recorded in each job; 1 for replayed deliveries, which an earlier run may have started.
   * @default 0
   */
  priorAttempts?: number;
}

/**
 * Queue mode of ingest: plans the delivery as direct mode does (parse, normalize, route), then
 * enqueues one job per firing alert and workflow instead of starting it. Each job carries
 * everything dispatch needs. Returns one result per plan in plan order: `accepted` for an
 * enqueued job (with a `reason` when its text was shortened to fit the queue), `skipped` as in
 * direct mode, and `failed` with `code` and `reason` for a job the queue did not take.
 *
 * @throws InvalidInputError as `planDelivery` does; nothing is enqueued then.
 */
export async function enqueueDelivery(request: IngestRequest, options: EnqueueOptions): Promise<AlertResult[]> {
  return (await enqueueDeliveryOutcome(request, options)).results;
}

/**
 * Does what {@link enqueueDelivery} does and also reports the failures that a retry cannot fix:
 * jobs too large for a queue message even after their text was shortened, with the Alert field
 * to make smaller.
 */
export async function enqueueDeliveryOutcome(request: IngestRequest, options: EnqueueOptions): Promise<DeliveryOutcome> {
  const plans = planDelivery(request, options);
  const startable = plans.filter((plan) => plan.skipReason === undefined);
  const outcomes = await enqueueJobs(
    options.queue,
    startable.map((plan) => plan.job),
    { priorAttempts: options.priorAttempts ?? 0 },
  );
  const byPlan = new Map(startable.map((plan, index) => [plan, outcomes[index]!]));

  const permanentFailures: PermanentFailure[] = [];
  const results = plans.map((plan): AlertResult => {
    const ids = { action_instance_id: plan.job.actionInstanceId, workflow_id: plan.job.workflowId };
    if (plan.skipReason !== undefined) return { ...ids, status: "skipped", reason: plan.skipReason };
    const outcome = byPlan.get(plan)!;
    if (outcome.status === "accepted") {
      return outcome.truncated.length === 0 ? { ...ids, status: "accepted" } : { ...ids, status: "accepted", reason: truncationNote(outcome.truncated) };
    }
    logger.error("failed to enqueue a start job", {
      actionInstanceId: plan.job.actionInstanceId,
      workflowId: plan.job.workflowId,
      source: plan.job.source,
      queue: options.queue.name,
      code: outcome.error.code,
      reason: outcome.error.message,
    });
    const result: AlertResult = { ...ids, status: "failed", code: outcome.error.code, reason: outcome.error.message };
    if (outcome.error.code === "BRIDGE.JOB_TOO_LARGE") {
      permanentFailures.push({ result, field: outcome.error.field ?? "(content)", fix: outcome.error.fix ?? "make the sender send a smaller alert" });
    }
    return result;
  });
  return { results, permanentFailures };
}

function truncationNote(truncated: readonly TruncatedField[]): string {
  const removedBytes = truncated.reduce((sum, field) => sum + field.removedBytes, 0);
  if (truncated.length === 1) return `${truncated[0]!.field} shortened by ${removedBytes} bytes to fit a queue message`;
  return `${truncated.map((field) => field.field).join(", ")} shortened by ${removedBytes} bytes in all to fit a queue message`;
}
