import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkflowInstanceCreator } from "../../lib/delivery/start";
import { jobFor, startDeliveryHarness, type DeliveryHarness } from "./harness";

describe("createStarter with the DynamoDB store", () => {
  let harness: DeliveryHarness;

  beforeAll(async () => {
    harness = await startDeliveryHarness();
  });
  afterAll(async () => {
    await harness.close();
  });

  it("stores an outcome without a request id", async () => {
    // A gateway that sends no X-Request-Id header used to leave requestId undefined, which the
    // DynamoDB marshaller rejected, so the created instance was never recorded.
    const withoutRequestId: WorkflowInstanceCreator = {
      createWorkflowInstance: async (input, options) => {
        const result = await harness.client.createWorkflowInstance(input, options);
        return { attempts: result.attempts };
      },
    };
    const starter = harness.starter({ client: withoutRequestId });

    const first = await starter.start(jobFor(9001));
    const second = await starter.start(jobFor(9001));

    expect(first.status).toBe("created");
    expect(second.status).toBe("duplicate");
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });
});
