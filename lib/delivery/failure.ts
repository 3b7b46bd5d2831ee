import { BridgeError, SecMasterError } from "../errors";

/**
 * Short, log-safe reason for a failed start, with SecMaster's code when there is one, and whether
 * the failed call may have reached SecMaster (`ambiguous`).
 */
export function describeStartFailure(error: unknown): { code: string; reason: string; retryable: boolean; ambiguous: boolean } {
  if (error instanceof SecMasterError) {
    const status = error.httpStatus === 0 ? "no response" : `${error.httpStatus}`;
    const code = error.errorCode ?? error.code;
    const reason = `SecMaster returned ${status} ${code}${error.errorMessage ? `: ${error.errorMessage}` : ""}`;
    return { code, reason, retryable: error.retryable, ambiguous: error.ambiguous };
  }
  if (error instanceof BridgeError) {
    // Another request holds the job's in-progress lock and may be posting it right now.
    const ambiguous = error.code === "BRIDGE.START_IN_PROGRESS";
    return { code: error.code, reason: error.message, retryable: error.statusCode >= 500 || error.statusCode === 429, ambiguous };
  }
  return { code: "BRIDGE.START_FAILED", reason: "internal error while starting the workflow instance", retryable: true, ambiguous: true };
}
