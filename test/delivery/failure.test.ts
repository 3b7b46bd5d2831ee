import { IdempotencyPersistenceLayerError } from "@aws-lambda-powertools/idempotency";
import { describe, expect, it } from "vitest";
import { AwsServiceError } from "../../lib/aws/client";
import { describeStartFailure } from "../../lib/delivery/failure";

describe("describeStartFailure", () => {
  it("names the idempotency store's missing region", () => {
    const cause = new AwsServiceError("ConfigError", "no AWS region: set AWS_REGION (Lambda sets it)", { retryable: false });
    const error = new IdempotencyPersistenceLayerError("Failed to save in progress record to idempotency store", { cause });

    expect(describeStartFailure(error)).toEqual({
      code: "BRIDGE.IDEMPOTENCY_STORE_FAILED",
      reason: "the idempotency store failed: no AWS region: set AWS_REGION (Lambda sets it)",
      retryable: false,
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

  it("passes on whether a throttled store call may succeed later", () => {
    const cause = new AwsServiceError("ProvisionedThroughputExceededException", "throttled", { statusCode: 400, retryable: true });

    expect(describeStartFailure(new IdempotencyPersistenceLayerError("Failed to update success record to idempotency store", { cause })).retryable).toBe(true);
  });

  it("keeps the generic reason for an unknown error", () => {
    expect(describeStartFailure(new Error("boom")).reason).toBe("internal error while starting the workflow instance");
  });
});
