import type { AlertResult } from "../ingest";

/** A `failed` alert that sending the same delivery again cannot start, with what to change. */
export interface PermanentFailure {
  result: AlertResult;
  /**
   * The value to change: an Alert field such as `network_list` for a job too large for the queue,
   * or a part of the target such as `workflow_id` for a start SecMaster rejected.
   */
  field: string;
  /** The change that makes the alert go through. */
  fix: string;
}

/** Outcome of one delivery, as `deliverRequest` returns it. */
export interface DeliveryOutcome {
  /** One result per alert and workflow, in plan order. */
  results: AlertResult[];
  /**
   * The `failed` results that a retry of the delivery cannot fix, in plan order. Every other
   * `failed` result is transient: a retry of the delivery may start or queue it.
   */
  permanentFailures: PermanentFailure[];
}

/** Counts the `failed` results of an outcome that a retry of the delivery may fix. */
export function transientFailureCount(outcome: DeliveryOutcome): number {
  const failed = outcome.results.filter((result) => result.status === "failed").length;
  return failed - outcome.permanentFailures.length;
}
