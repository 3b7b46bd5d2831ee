import type { Severity } from "../../lib/alert/schema";
import { BridgeError } from "../../lib/errors";
import { actionInstanceId } from "../../lib/identity";
import type { NormalizeContext, NormalizedAlert } from "../../lib/sources/types";

/** Workflow id the golden `action_instance_id` values are pinned for. */
export const GOLDEN_WORKFLOW_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

/** Derives the `action_instance_id` of an alert for {@link GOLDEN_WORKFLOW_ID}. */
export function goldenId(alert: NormalizedAlert): string {
  return actionInstanceId({ ...alert, workflowId: GOLDEN_WORKFLOW_ID });
}

/** Runs `action` and returns the BridgeError it throws; fails the test when it throws nothing. */
export function bridgeErrorOf(action: () => unknown): BridgeError {
  try {
    action();
  } catch (error) {
    if (error instanceof BridgeError) return error;
    throw error;
  }
  throw new Error("expected a BridgeError, but nothing was thrown");
}

/** One call of `unknownSeverity`, as recorded by {@link recordingContext}. */
export interface UnknownSeverityCall {
  field: string;
  value: unknown;
}

/**
 * A normalize context with a fixed receipt time whose `unknownSeverity` records each call and
 * returns `Low`, a value no adapter picks by default, so tests can tell the two paths apart.
 */
export function recordingContext(receivedAt: string, options?: unknown): NormalizeContext & { unknownCalls: UnknownSeverityCall[] } {
  const unknownCalls: UnknownSeverityCall[] = [];
  return {
    receivedAt: new Date(receivedAt),
    options,
    unknownCalls,
    unknownSeverity(field: string, value: unknown): Severity {
      unknownCalls.push({ field, value });
      return "Low";
    },
  };
}
