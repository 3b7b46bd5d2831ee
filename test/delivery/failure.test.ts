import { IdempotencyPersistenceLayerError } from "@aws-lambda-powertools/idempotency";
import { describe, expect, it } from "vitest";
import { AwsServiceError } from "../../lib/aws/client";
import { describeStartFailure, startFailureLogLevel } from "../../lib/delivery/failure";
import { SecMasterError } from "../../lib/errors";

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

  it("says what happened to a request that got no response", () => {
    // The reason used to read "SecMaster returned no response BRIDGE.SECMASTER_UNREACHABLE".
    const error = new SecMasterError("failed to create workflow instance a1: timed out after 10000 ms waiting for the response headers", {
      httpStatus: 0,
      retryable: true,
      ambiguous: true,
    });

    expect(describeStartFailure(error).reason).toBe(
      "SecMaster gave no response (BRIDGE.SECMASTER_UNREACHABLE): failed to create workflow instance a1: timed out after 10000 ms waiting for the response headers",
    );
  });

  it("names the status and code of a SecMaster error response", () => {
    const error = new SecMasterError("failed to create workflow instance a1: SecMaster returned 403", {
      httpStatus: 403,
      errorCode: "APIG.0301",
      errorMessage: "Incorrect IAM authentication information",
      retryable: false,
    });

    expect(describeStartFailure(error).reason).toBe("SecMaster returned 403 APIG.0301: Incorrect IAM authentication information");
  });

  it("keeps the generic reason for an unknown error", () => {
    expect(describeStartFailure(new Error("boom")).reason).toBe("internal error while starting the workflow instance");
  });
});

describe("startFailureLogLevel", () => {
  it.each([
    ["BRIDGE.START_IN_PROGRESS", "warn"],
    ["BRIDGE.SECMASTER_CLIENT_CLOSED", "warn"],
    ["BRIDGE.START_ABORTED", "warn"],
    ["BRIDGE.SECMASTER_UNREACHABLE", "error"],
    ["SecMaster.20030001", "error"],
    ["BRIDGE.IDEMPOTENCY_STORE_FAILED", "error"],
  ])("logs %s as %s", (code, level) => {
    expect(startFailureLogLevel(code)).toBe(level);
  });
});

