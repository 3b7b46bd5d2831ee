import { createHash, randomUUID } from "node:crypto";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "../logger";
import type { MessageQueue, ReceivedMessage } from "./queue";
import { inInvocationScope } from "../local/invocation-scope";

/** An SQS event handler, such as the dispatch function's. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Settings of {@link startQueuePoller}. */
export interface QueuePollerOptions {
  queue: MessageQueue;
  handler: SqsHandler;
  /** Messages handed to one invocation, like the `batchSize` of an SQS event source. */
  batchSize: number;
  /**
   * Simulated function timeout, in milliseconds. Received messages stay hidden this long, as
   * Lambda requires a visibility timeout at least as long as the function's.
   */
  functionTimeoutMs: number;
  /**
   * Invocations running at once.
   * @default 4
   */
  parallelism?: number;
  /**
   * Wait between receives that found nothing, in milliseconds. A send to a local queue wakes the
   * poller at once.
   * @default 250
   */
  idleDelayMs?: number;
  /** Queue name in the simulated event source ARN. @default "secmaster-bridge-jobs" */
  queueName?: string;
  /**
   * How long `close` waits for the invocations in flight, in milliseconds. Jobs of an invocation
   * still running then stay in the queue and are delivered again after a restart, as after a crash.
   * @default 5000
   */
  closeGraceMs?: number;
}

/** A running poller. */
export interface QueuePoller {
  /** Stops receiving; the invocations in flight go on. */
  stopAccepting(): void;
  /** Stops receiving and waits up to `closeGraceMs` for the invocations in flight. */
  close(): Promise<void>;
}

/**
 * Runs an SQS event handler over a queue on the local machine, as the Lambda event source mapping
 * does in AWS. It receives batches, invokes the handler with an SQS event and a Lambda context,
 * and deletes every message not listed in `batchItemFailures`. When the handler throws, the
 * whole batch stays in the queue and comes back after the visibility timeout.
 *
 * NOTE: Middy 6 shares one AbortController between the invocations of a process. An early
 * timeout of one local invocation therefore also aborts the SecMaster calls of the others running
 * at that moment, and their jobs are retried. On Lambda an environment runs one invocation at a time.
 */
export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const parallelism = options.parallelism ?? 4;
  const idleDelayMs = options.idleDelayMs ?? 250;
  const arn = `arn:aws:sqs:local:000000000000:${options.queueName ?? "secmaster-bridge-jobs"}`;
  let stopped = false;
  /** Messages of the invocations running now. */
  let inFlight = 0;
  const sleepers = new Set<() => void>();
  const unsubscribe = options.queue.onSend?.(wakeAll);

  async function worker(): Promise<void> {
    while (!stopped) {
      let messages: ReceivedMessage[];
      try {
        messages = await options.queue.receive({ maxMessages: options.batchSize, visibilityTimeoutMs: options.functionTimeoutMs });
      } catch (error) {
        logger.error("failed to receive jobs from the queue", { queue: options.queue.name, error: error as Error });
        messages = [];
      }
      if (messages.length === 0) {
        await idle();
        continue;
      }
      inFlight += messages.length;
      try {
        await invoke(messages);
      } finally {
        inFlight -= messages.length;
      }
    }
  }

  function idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, idleDelayMs);
      sleepers.add(done);
    });
  }

  function wakeAll(): void {
    for (const sleeper of [...sleepers]) sleeper();
  }

  async function invoke(messages: ReceivedMessage[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, arn)) };
    let failedIds: Set<string>;
    try {
      const response = await inInvocationScope(() => options.handler(event, localLambdaContext(options.functionTimeoutMs)));
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      logger.error("dispatch invocation failed; its jobs come back after the visibility timeout", {
        records: messages.length,
        error: error as Error,
      });
      return;
    }
    const done = messages.filter((message) => !failedIds.has(message.messageId)).map((message) => message.receiptHandle);
    if (done.length > 0) await options.queue.delete(done);
  }

  const workers = Array.from({ length: parallelism }, () => worker());
  function stopAccepting(): void {
    stopped = true;
    unsubscribe?.();
    wakeAll();
  }

  return {
    stopAccepting,
    close: async () => {
      stopAccepting();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.closeGraceMs ?? 5_000);
      });
      await Promise.race([Promise.all(workers), grace]);
      clearTimeout(timer);
      if (inFlight > 0) {
        // Their SecMaster calls fail once the client closes, and the jobs stay in the queue.
        logger.warn("stopped while jobs were still being dispatched; they stay in the queue and run again after a restart", {
          queue: options.queue.name,
          jobs: inFlight,
        });
      }
    },
  };
}

/** Builds the SQS event record Lambda would pass for a received message. */
export function toSqsRecord(message: ReceivedMessage, arn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAtMs),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(message.sentAtMs),
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(message.body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: arn,
    awsRegion: "local",
  };
}

/** Builds the Lambda context of one local invocation, whose remaining time counts down from `timeoutMs`. */
export function localLambdaContext(timeoutMs: number, requestId: string = randomUUID()): Context {
  const deadlineMs = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "secmaster-bridge-local-dispatch",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:secmaster-bridge-local-dispatch",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
