import { AwsServiceError } from "../aws/client";
import { BridgeError, SecMasterError } from "../errors";

/**
 * Short, log-safe reason for a failed start, with SecMaster's code when there is one, and whether
 * the failed call may have reached SecMaster (`ambiguous`).
 */
export function describeStartFailure(error: unknown): { code: string; reason: string; retryable: boolean; ambiguous: boolean } {
  if (error instanceof SecMasterError) {
    const code = error.errorCode ?? error.code;
    // Without a response, the client's message states what happened to the request (timed out,
    // refused, aborted). It names ids and settings, never credentials.
    const reason =
      error.httpStatus === 0
        ? `SecMaster gave no response (${code}): ${error.message}`
        : `SecMaster returned ${error.httpStatus} ${code}${error.errorMessage ? `: ${error.errorMessage}` : ""}`;
    return { code, reason, retryable: error.retryable, ambiguous: error.ambiguous };
  }
  if (error instanceof BridgeError) {
    // Another request holds the job's in-progress lock and may be posting it right now.
    const ambiguous = error.code === "BRIDGE.START_IN_PROGRESS";
    return { code: error.code, reason: error.message, retryable: error.statusCode >= 500 || error.statusCode === 429, ambiguous };
  }
  const storeError = awsErrorIn(error);
  if (storeError !== undefined) {
    // Without a response the message is the client's own (no region, no credentials, timed out).
    // A response's message can name the role and table ARNs, so only its status and code are kept.
    const detail = storeError.statusCode === undefined ? storeError.message : `DynamoDB returned ${storeError.statusCode} ${storeError.code}`;
    // The job itself is fine, so it is retried even when this call is not worth repeating at once:
    // a missing permission, table or setting is fixed by a deploy within the job's receives.
    const retryable = storeError.code !== "ValidationException";
    return { code: "BRIDGE.IDEMPOTENCY_STORE_FAILED", reason: `the idempotency store failed: ${detail}`, retryable, ambiguous: true };
  }
  return { code: "BRIDGE.START_FAILED", reason: "internal error while starting the workflow instance", retryable: true, ambiguous: true };
}

// Powertools wraps a failed store call in its own error, with the AWS error as the cause.
function awsErrorIn(error: unknown): AwsServiceError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof AwsServiceError) return current;
  }
  return undefined;
}

/**
 * Failure codes that are no fault of the job or of SecMaster. Another request has the job's lock
 * and is starting it, the caller's deadline passed before the job's turn, or the bridge is shutting
 * down and has closed its SecMaster client. These failures are retried and logged as warnings.
 */
const NOT_A_FAULT_CODES: ReadonlySet<string> = new Set(["BRIDGE.START_IN_PROGRESS", "BRIDGE.START_ABORTED", "BRIDGE.SECMASTER_CLIENT_CLOSED"]);

/** Returns the log level for a failed start with this code: `warn` for {@link NOT_A_FAULT_CODES}, else `error`. */
export function startFailureLogLevel(code: string): "warn" | "error" {
  return NOT_A_FAULT_CODES.has(code) ? "warn" : "error";
}
