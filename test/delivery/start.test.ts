import { createHash } from "node:crypto";
import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError } from "@aws-lambda-powertools/idempotency";
import type { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBStore } from "../../lib/delivery/dynamodb-store";
import type { WorkflowInstanceCreator } from "../../lib/delivery/start";
import { jobFor, startDeliveryHarness, TABLE, type DeliveryHarness } from "./harness";

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

  it("skips a job whose caller gave up", async () => {
    // Jobs still waiting for their turn when the direct-mode deadline passed each cost a write and
    // a delete, which could use up the time kept back for the response.
    const calls: string[] = [];
    const counting = {
      call: <Output>(operation: string, input: object) => {
        calls.push(operation);
        return harness.dynamodbClient.call<Output>(operation, input);
      },
    };
    const starter = harness.starter({ persistenceStore: new DynamoDBStore({ tableName: TABLE, client: counting }) });
    const requestsBefore = harness.emulator.stats().requests;

    await expect(starter.start(jobFor(9003), AbortSignal.abort())).rejects.toMatchObject({ code: "BRIDGE.START_ABORTED" });

    expect(calls).toEqual([]);
    expect(harness.emulator.stats().requests).toBe(requestsBefore);
  });

  it("keys the record on the action_instance_id", async () => {
    // The key Powertools derives with eventKeyJmesPath "actionInstanceId": the prefix and the
    // base64 MD5 of the id as JSON. A change of it would start every recorded job again.
    const job = jobFor(9002);
    const key = `secmaster-bridge#start#${createHash("md5").update(JSON.stringify(job.actionInstanceId)).digest("base64")}`;

    await harness.starter().start(job);

    const output = await harness.dynamodbClient.call<{ Item?: Record<string, { S?: string }> }>("GetItem", {
      TableName: TABLE,
      Key: { id: { S: key } },
      ConsistentRead: true,
    });
    expect(output.Item?.status?.S).toBe("COMPLETED");
  });
});

describe("starter racing another copy of a job", () => {
  let harness: DeliveryHarness;

  beforeAll(async () => {
    harness = await startDeliveryHarness();
  });

  afterAll(async () => {
    await harness.close();
  });

  it("takes the job over when the other copy's record vanished", async () => {
    // The other copy held the record when this one wrote, then failed and deleted it before this
    // one read it: the write conflicts, and the read finds nothing.
    class RacedStore extends DynamoDBStore {
      conflicts = 1;
      protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
        if (this.conflicts-- > 0) throw new IdempotencyItemAlreadyExistsError("record written by another copy");
        await super._putRecord(record);
      }
      protected override _getRecord(): Promise<IdempotencyRecord> {
        return Promise.reject(new IdempotencyItemNotFoundError("record deleted by another copy"));
      }
    }
    const starter = harness.starter({ persistenceStore: harness.persistence(RacedStore) });

    const outcome = await starter.start(jobFor(9101));

    expect(outcome.status).toBe("created");
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toContain(jobFor(9101).actionInstanceId);
  });
});
