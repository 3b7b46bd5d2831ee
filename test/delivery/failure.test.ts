import { IdempotencyPersistenceLayerError } from "@aws-lambda-powertools/idempotency";
import { describe, expect, it } from "vitest";
import { AwsServiceError } from "../../lib/aws/client";
import { describeStartFailure } from "../../lib/delivery/failure";

describe("describeStartFailure", () => {
  it("names the idempotency store's missing region", () => {
    const cause = new AwsServiceError("ConfigError", "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION)", { retryable: false });
    const error = new IdempotencyPersistenceLayerError("Failed to save in progress record to idempotency store", { cause });

    expect(describeStartFailure(error)).toEqual({
      code: "BRIDGE.IDEMPOTENCY_STORE_FAILED",
      reason: "the idempotency store failed: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (Lambda sets AWS_REGION)",
      retryable: true,
      ambiguous: true,
    });
  });

  it("keeps only the status and code of a DynamoDB error response", () => {
    const cause = new AwsServiceError("AccessDeniedException", "PutItem failed: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/x is not authorized", {
      statusCode: 400,
      retryable: false,
    });
    const error = new IdempotencyPersistenceLayerError("Failed to save in progress record to idempotency store", { cause });

    const described = describeStartFailure(error);

    expect(described.reason).toBe("the idempotency store failed: DynamoDB returned 400 AccessDeniedException");
    expect(described.reason).not.toContain("arn:aws");
  });

  it.each([
    ["ProvisionedThroughputExceededException", true],
    ["AccessDeniedException", false],
    ["ResourceNotFoundException", false],
    ["ExpiredTokenException", false],
  ])("retries the job after a store %s", (code, callRetryable) => {
    const cause = new AwsServiceError(code, "store call failed", { statusCode: 400, retryable: callRetryable });

    expect(describeStartFailure(new IdempotencyPersistenceLayerError("Failed to save in progress record to idempotency store", { cause })).retryable).toBe(true);
  });

  it("gives up on a request DynamoDB calls invalid", () => {
    const cause = new AwsServiceError("ValidationException", "Item size has exceeded the maximum allowed size", { statusCode: 400, retryable: false });

    expect(describeStartFailure(new IdempotencyPersistenceLayerError("Failed to update success record to idempotency store", { cause })).retryable).toBe(false);
  });

  it("keeps the generic reason for an unknown error", () => {
    expect(describeStartFailure(new Error("boom")).reason).toBe("internal error while starting the workflow instance");
  });
});
