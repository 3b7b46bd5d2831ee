import type { SQSEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDispatchHandler } from "../../functions/dispatch";
import { DynamoDBStore } from "../../lib/delivery/dynamodb-store";
import { toSqsRecord } from "../../lib/delivery/poller";
import { encodeEnvelope, newEnvelope } from "../../lib/delivery/queue";
import type { StartJob } from "../../lib/delivery/job";
import { logger } from "../../lib/logger";
import { captureLogOutput } from "../helpers/log-capture";
import type { WorkflowInstanceCreator, WorkflowInstanceFinder } from "../../lib/delivery/start";
import { BridgeError, SecMasterError } from "../../lib/errors";
import { hangingCreator, jobFor, lambdaContext, startDeliveryHarness, waitFor, type DeliveryHarness } from "./harness";

let harness: DeliveryHarness;

beforeAll(async () => {
  harness = await startDeliveryHarness();
  logger.setLogLevel(process.env.TEST_LOG === undefined ? "SILENT" : "INFO");
});

afterAll(async () => {
  logger.setLogLevel("INFO");
  await harness.close();
});

afterEach(() => {
  harness.emulator.reset();
});

/**
 * A store that loses the first "completed" write, as when the dispatcher dies after SecMaster
 * accepted the instance but before the idempotency record was marked complete. The record stays
 * in progress until the Lambda invocation that owns it would have ended.
 */
class DyingAfterAcceptPersistence extends DynamoDBStore {
  static deaths = 0;
  override async saveSuccess(...args: Parameters<DynamoDBStore["saveSuccess"]>): Promise<void> {
    if (DyingAfterAcceptPersistence.deaths > 0) {
      DyingAfterAcceptPersistence.deaths -= 1;
      throw new Error("dispatcher killed before the record was completed");
    }
    return super.saveSuccess(...args);
  }
}

function sqsEvent(job: StartJob, receiveCount: number, messageId = "message-1"): SQSEvent {
  const message = { messageId, receiptHandle: `${messageId}#${receiveCount}`, body: encodeEnvelope(newEnvelope(job)), receiveCount, sentAtMs: 1_768_465_800_000 };
  return { Records: [toSqsRecord(message, "arn:aws:sqs:local:000000000000:jobs")] };
}

function dependencies(starter: ReturnType<DeliveryHarness["starter"]>) {
  return { starter, queue: undefined, deadLetters: undefined, maxReceives: 5, concurrency: 4, retryBaseDelayMs: 100, retryMaxDelayMs: 1_000 };
}

describe("dispatcher killed after SecMaster accepted", () => {
  it("finds the instance on retry instead of creating a second", async () => {
    const persistence = harness.persistence(DyingAfterAcceptPersistence);
    const starter = harness.starter({ persistenceStore: persistence });
    const handler = createDispatchHandler(() => dependencies(starter), { earlyTimeoutMs: 200 });
    const job = jobFor(101);
    DyingAfterAcceptPersistence.deaths = 1;

    const first = await handler(sqsEvent(job, 1), lambdaContext(1_500, "first"));
    const retry = await handler(sqsEvent(job, 2), lambdaContext(30_000, "retry"));

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "message-1" }]);
    expect(retry.batchItemFailures).toEqual([]);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([job.actionInstanceId]);
    expect(harness.emulator.stats().created).toBe(1);
    // The retry looked the instance up and never posted it again.
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });

  it("relies on SecMaster's duplicate rejection with the check off", async () => {
    const persistence = harness.persistence(DyingAfterAcceptPersistence);
    const starter = harness.starter({ persistenceStore: persistence, finder: undefined });
    const handler = createDispatchHandler(() => dependencies(starter), { earlyTimeoutMs: 200 });
    const job = jobFor(102);
    DyingAfterAcceptPersistence.deaths = 1;

    await handler(sqsEvent(job, 1), lambdaContext(1_500, "first"));
    const retry = await handler(sqsEvent(job, 2), lambdaContext(30_000, "retry"));

    expect(retry.batchItemFailures).toEqual([]);
    expect(harness.emulator.instances()).toHaveLength(1);
    expect(harness.emulator.stats().duplicateAttempts).toBe(1);
  });
});

describe("Lambda timeout mid-call", () => {
  it("lets the next attempt proceed once the in-progress lock expires", async () => {
    // The first invocation's SecMaster call never returns and ignores the abort, as in a Lambda
    // environment that is frozen at its timeout: the idempotency record is never released.
    const creator = hangingCreator(harness.client);
    const frozen = harness.starter({ client: creator });
    const next = harness.starter();
    const job = jobFor(103);
    const firstHandler = createDispatchHandler(() => dependencies(frozen), { earlyTimeoutMs: 500 });
    const nextHandler = createDispatchHandler(() => dependencies(next), { earlyTimeoutMs: 500 });
    const startedMs = Date.now();

    const first = await firstHandler(sqsEvent(job, 1), lambdaContext(1_500, "frozen"));
    const firstAnsweredMs = Date.now() - startedMs;
    const retry = await nextHandler(sqsEvent(job, 2), lambdaContext(30_000, "next"));
    const retryDoneMs = Date.now() - startedMs;
    creator.release();

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "message-1" }]);
    expect(firstAnsweredMs).toBeLessThan(1_400);
    expect(retry.batchItemFailures).toEqual([]);
    // The lock lasted as long as the first invocation could have run.
    expect(retryDoneMs).toBeGreaterThanOrEqual(1_500);
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([job.actionInstanceId]);
  });

  it("keeps a second attempt out while the lock holds", async () => {
    const creator = hangingCreator(harness.client);
    const frozen = harness.starter({ client: creator });
    const impatient = harness.starter({ inProgressWaitMs: 200 });
    const job = jobFor(104);
    const first = createDispatchHandler(() => dependencies(frozen), { earlyTimeoutMs: 500 })(sqsEvent(job, 1), lambdaContext(3_000, "frozen"));
    await new Promise((resolve) => setTimeout(resolve, 100));

    const retry = await createDispatchHandler(() => dependencies(impatient))(sqsEvent(job, 2), lambdaContext(30_000, "retry"));
    creator.release();
    await first;

    expect(retry.batchItemFailures).toEqual([{ itemIdentifier: "message-1" }]);
    expect(harness.emulator.stats().requests).toBe(0);
  });
});

describe("job whose lock another request holds", () => {
  it("logs the failed start as a warning", async () => {
    const creator = hangingCreator(harness.client);
    let posting = false;
    // The hanging call begins after the record is written, so from then on the lock is held.
    const observed: WorkflowInstanceCreator = {
      createWorkflowInstance: (input, options) => {
        posting = true;
        return creator.createWorkflowInstance(input, options);
      },
    };
    const frozen = harness.starter({ client: observed });
    const impatient = harness.starter({ inProgressWaitMs: 200 });
    const job = jobFor(107);
    const first = createDispatchHandler(() => dependencies(frozen), { earlyTimeoutMs: 500 })(sqsEvent(job, 1), lambdaContext(3_000, "frozen"));
    await waitFor(() => posting, 5_000, "the first start to post");
    logger.setLogLevel("INFO");
    const logs = captureLogOutput();

    try {
      await createDispatchHandler(() => dependencies(impatient))(sqsEvent(job, 2), lambdaContext(30_000, "retry"));
    } finally {
      logs.restore();
      logger.setLogLevel("SILENT");
      creator.release();
      await first;
    }

    const lines = logs.text().split("\n").filter((line) => line.includes("BRIDGE.START_IN_PROGRESS"));
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0]!) as { level: string; message: string }).level).toBe("WARN");
  });
});

describe("direct-mode repeat after an expired lock", () => {
  // Direct mode starts a delivery's jobs without mayExist: a repeat delivery is not known to
  // follow an attempt. When the earlier attempt created the instance but never completed its
  // record (its process died), the repeat takes the expired lock over and must look first.
  it("finds the instance instead of posting it again", async () => {
    const dying = harness.starter({ persistenceStore: harness.persistence(DyingAfterAcceptPersistence) });
    dying.registerLambdaContext(lambdaContext(300, "died"));
    const job = jobFor(105);
    DyingAfterAcceptPersistence.deaths = 1;
    await expect(dying.start(job)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 400));

    const repeat = harness.starter();
    repeat.registerLambdaContext(lambdaContext(30_000, "repeat"));
    const outcome = await repeat.start(job);

    expect(outcome.status).toBe("duplicate");
    expect(harness.emulator.stats().created).toBe(1);
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });

  it("posts when the earlier attempt never reached SecMaster", async () => {
    const creator = hangingCreator(harness.client);
    const frozen = harness.starter({ client: creator });
    frozen.registerLambdaContext(lambdaContext(300, "frozen"));
    const job = jobFor(106);
    const first = frozen.start(job).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 400));

    const repeat = harness.starter();
    repeat.registerLambdaContext(lambdaContext(30_000, "repeat"));
    const outcome = await repeat.start(job);
    creator.release();
    await first;

    expect(outcome.status).toBe("created");
    expect(harness.emulator.instances().map((instance) => instance.instance_id)).toEqual([job.actionInstanceId]);
    // The look-up, then the post.
    expect(harness.emulator.stats().requests).toBe(2);
  });

  it("keeps the record unsettled when the look-up fails", async () => {
    // The first post is stored but its response is lost, and every look-up fails: the outcome stays
    // unknown. The second start's look-up fails too, in a way that is not itself ambiguous (the
    // client closed at shutdown). Its record must still lead the third start to look first.
    const lostAnswer: WorkflowInstanceCreator = {
      createWorkflowInstance: async (input, options) => {
        await harness.client.createWorkflowInstance(input, options);
        throw new SecMasterError("failed to create workflow instance: the connection was closed before a complete response arrived", {
          httpStatus: 0,
          retryable: true,
          ambiguous: true,
        });
      },
    };
    const failingLookUp = (error: Error): WorkflowInstanceFinder => ({ listWorkflowInstances: () => Promise.reject(error) });
    const unreachable = new SecMasterError("failed to list workflow instances: timed out", { httpStatus: 0, retryable: true, ambiguous: true });
    const closed = new BridgeError("BRIDGE.SECMASTER_CLIENT_CLOSED", "failed to list workflow instances: the SecMaster client is closed");
    const job = jobFor(108);

    await expect(harness.starter({ client: lostAnswer, finder: failingLookUp(unreachable) }).start(job)).rejects.toThrow();
    await expect(harness.starter({ finder: failingLookUp(closed) }).start(job)).rejects.toThrow("the SecMaster client is closed");
    const third = await harness.starter().start(job);

    expect(third.status).toBe("duplicate");
    expect(harness.emulator.stats().created).toBe(1);
    expect(harness.emulator.stats().duplicateAttempts).toBe(0);
  });
});
