import type { Severity } from "../../lib/alert/schema";
import type { NormalizeContext } from "../../lib/sources/types";

/** Workflow id the golden `action_instance_id` values are pinned for. */
export const GOLDEN_WORKFLOW_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

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
