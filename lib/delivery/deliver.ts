import { ConfigError } from "../errors";
import { ingestDelivery, type IngestRequest } from "../ingest";
import type { IngestRuntime } from "../ingest-runtime";
import { enqueueDeliveryOutcome } from "./enqueue";
import type { DeliveryOutcome } from "./outcome";
import { settleRejectedStarts, type FailedStart } from "./rejected";
import type { Starter } from "./start";

export type { DeliveryOutcome, PermanentFailure } from "./outcome";

/**
 * Delivers one parsed request the way `BRIDGE_MODE` asks: in queue mode it enqueues one job per
 * firing alert and workflow, in direct mode it starts them before returning. HTTP deliveries and
 * AWS events share this step, so throttling and dead letters work the same for both. The
 * outcome separates failures that a retry of the delivery cannot fix from transient ones.
 *
 * In direct mode a start that SecMaster rejects in a way a retry cannot fix goes to the
 * runtime's dead-letter queue, as dispatch does in queue mode, and its result is `dead-lettered`.
 *
 * @throws ConfigError in direct mode when the runtime has no starter (the queue-only ingest handler).
 */
export async function deliverRequest(request: IngestRequest, runtime: IngestRuntime): Promise<DeliveryOutcome> {
  const { config, starter, target, routing, queue } = runtime;
  const routes = await routing.table();
  if (config.delivery.mode === "queue") {
    // The ingest runtime refuses to build in queue mode without a queue.
    return enqueueDeliveryOutcome(request, { target, routes, queue: queue!, defaultSeverity: config.ingest.defaultSeverity });
  }
  if (starter === undefined) {
    throw new ConfigError([
      "BRIDGE_MODE: direct mode needs the handler functions/ingest-direct.handler, which can start workflows; functions/ingest.handler only queues jobs",
    ]);
  }
  const failures = new Map<string, FailedStart>();
  const results = await ingestDelivery(request, {
    target,
    routes,
    starter: recordingFailures(starter, failures),
    defaultSeverity: config.ingest.defaultSeverity,
    dispatchConcurrency: config.ingest.dispatchConcurrency,
  });
  return settleRejectedStarts(results, failures, { deadLetters: runtime.deadLetters });
}

// Keeps each failed start's job and error, which the per-alert results do not carry.
function recordingFailures(starter: Starter, failures: Map<string, FailedStart>): Starter {
  return {
    start: async (job, signal, options) => {
      try {
        return await starter.start(job, signal, options);
      } catch (error) {
        failures.set(job.actionInstanceId, { job, error });
        throw error;
      }
    },
    registerLambdaContext: (context) => starter.registerLambdaContext(context),
  };
}
