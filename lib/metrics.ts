import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * Powertools Metrics that stay silent after an invocation that added no metrics. Powertools 2.35
 * writes no metrics then either, but prints a plain-text warning into the JSON log.
 */
class BridgeMetrics extends Metrics {
  /**
   * Publishes the stored metrics, or only clears the dimensions and metadata when the invocation
   * added none, such as for an empty delivery (`[]`).
   * NOTE: this also skips the `throwOnEmptyMetrics` check, which the bridge does not enable.
   */
  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) return super.publishStoredMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

/**
 * The bridge's CloudWatch metrics, written as Embedded Metric Format lines on stdout. The Lambda
 * handlers flush them with the Powertools `logMetrics` middleware after each invocation.
 * `POWERTOOLS_METRICS_DISABLED=true` turns the output off.
 */
export const metrics = new BridgeMetrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "SecMasterBridge",
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "secmaster-bridge",
});

/** Names of the bridge's counters; each is a CloudWatch metric with unit Count. */
export const METRIC = {
  /**
   * Results of deliveries: one per alert and workflow it was routed to, and one per skipped alert.
   * An alert routed to two workflows counts twice.
   */
  alertsReceived: "AlertsReceived",
  /** Resolved alerts and vendor test notifications acknowledged without a start. */
  alertsSkipped: "AlertsSkipped",
  /** Jobs written to the queue in queue mode. */
  jobsEnqueued: "JobsEnqueued",
  /** Jobs the queue did not accept; the sender gets 503 and retries. */
  enqueueFailures: "EnqueueFailures",
  /** Workflow instances this bridge created. */
  instancesCreated: "InstancesCreated",
  /** Starts that found the instance already started, by the idempotency store or by SecMaster. */
  duplicates: "Duplicates",
  /** SecMaster calls retried by the client after a network error, 429 or 5xx. */
  retries: "SecMasterRetries",
  /** SecMaster responses with status 429. */
  throttles: "SecMasterThrottles",
  /** Starts that failed; in queue mode the job is retried or dead-lettered. */
  startFailures: "StartFailures",
  /** Jobs moved to the dead-letter queue with their last error. */
  deadLettered: "DeadLettered",
  /** Deliveries rejected with a 4xx response: failed authentication, bad input, unknown source. */
  deliveriesRejected: "DeliveriesRejected",
  /** Deliveries that got a 5xx response before any alert was processed, such as unavailable secrets. */
  deliveryErrors: "DeliveryErrors",
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Adds `count` to a counter of the current invocation. Zero counts are not written. */
export function countMetric(name: MetricName, count = 1): void {
  if (count > 0) metrics.addMetric(name, MetricUnit.Count, count);
}

/**
 * Counts the per-alert results of one delivery. A `failed` result is a start failure in direct
 * mode and an enqueue failure in queue mode.
 */
export function countDeliveryResults(results: readonly { status: string }[], mode: "queue" | "direct"): void {
  const count = (status: string) => results.filter((result) => result.status === status).length;
  countMetric(mode === "queue" ? METRIC.enqueueFailures : METRIC.startFailures, count("failed"));
  countMetric(METRIC.alertsReceived, results.length);
  countMetric(METRIC.alertsSkipped, count("skipped"));
  countMetric(METRIC.jobsEnqueued, count("accepted"));
  countMetric(METRIC.instancesCreated, count("created"));
  countMetric(METRIC.duplicates, count("duplicate"));
}
