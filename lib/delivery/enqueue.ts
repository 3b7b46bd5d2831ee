import { planDelivery, type AlertResult, type IngestOptions, type IngestRequest } from "../ingest";
import { logger } from "../logger";
import { enqueueJobs, type MessageQueue } from "./queue";

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
 * enqueued job, `skipped` as in direct mode, and `failed` with `code` and `reason` for a job the
 * queue did not take.
 *
 * @throws InvalidInputError as `planDelivery` does; nothing is enqueued then.
 */
export async function enqueueDelivery(request: IngestRequest, options: EnqueueOptions): Promise<AlertResult[]> {
  const plans = planDelivery(request, options);
  const startable = plans.filter((plan) => plan.skipReason === undefined);
  const outcomes = await enqueueJobs(
    options.queue,
    startable.map((plan) => plan.job),
    { priorAttempts: options.priorAttempts ?? 0 },
  );
  const byPlan = new Map(startable.map((plan, index) => [plan, outcomes[index]!]));

  return plans.map((plan): AlertResult => {
    const ids = { action_instance_id: plan.job.actionInstanceId, workflow_id: plan.job.workflowId };
    if (plan.skipReason !== undefined) return { ...ids, status: "skipped", reason: plan.skipReason };
    const outcome = byPlan.get(plan)!;
    if (outcome.status === "accepted") return { ...ids, status: "accepted" };
    logger.error("failed to enqueue a start job", {
      actionInstanceId: plan.job.actionInstanceId,
      workflowId: plan.job.workflowId,
      source: plan.job.source,
      queue: options.queue.name,
      code: outcome.error.code,
      reason: outcome.error.message,
    });
    return { ...ids, status: "failed", code: outcome.error.code, reason: outcome.error.message };
  });
}
