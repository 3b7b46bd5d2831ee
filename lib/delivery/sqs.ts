import { Buffer } from "node:buffer";
import { setTimeout as delay } from "node:timers/promises";
import { AwsJsonClient, AwsServiceError, SQS } from "../aws/client";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { checkMessageSize, MAX_MESSAGE_BYTES, type MessageQueue, type OutgoingMessage, type ReceivedMessage, type SendResult } from "./queue";

// Time a long poll gets beyond its wait, for the response to travel back.
const LONG_POLL_MARGIN_MS = 5000;

/** Entries per SQS batch request, the service's maximum. */
export const SQS_BATCH_ENTRIES = 10;

// Output shapes of the SQS operations the queue calls, with the field names of the SQS API. Every
// field is optional because the response is parsed JSON that nothing validates.

/** A batch entry SQS did not process. */
interface BatchResultErrorEntry {
  Id?: string;
  /** True when the request was at fault (such as an invalid body), so sending it again fails too. */
  SenderFault?: boolean;
  Code?: string;
  Message?: string;
}

interface SendMessageBatchOutput {
  Successful?: { Id?: string; MessageId?: string }[];
  Failed?: BatchResultErrorEntry[];
}

interface BatchOutput {
  Failed?: BatchResultErrorEntry[];
}

interface ReceiveMessageOutput {
  Messages?: { MessageId?: string; ReceiptHandle?: string; Body?: string; Attributes?: Record<string, string> }[];
}

interface GetQueueAttributesOutput {
  Attributes?: Record<string, string>;
}

/** Settings of an {@link SqsQueue}. */
export interface SqsQueueOptions {
  /**
   * Client to send with. It retries throttled, 5xx, timed-out and dropped requests itself.
   * @default a client of the `SQS` service, made from `process.env` on the first request. Its
   *   region is `AWS_REGION`, else the region in the queue URL, else `AWS_DEFAULT_REGION`.
   */
  client?: AwsJsonClient | undefined;
  queueUrl: string;
  /**
   * Attempts per batch for entries that SQS failed without blaming the sender (`SenderFault`
   * false), the first one included.
   * @default 3
   */
  maxSendAttempts?: number | undefined;
  /**
   * Wait before the second attempt of failed entries, in milliseconds. It doubles per attempt.
   * @default 100
   */
  retryDelayMs?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * The queue port over an Amazon SQS standard queue. Sends go out with `SendMessageBatch` in
 * chunks of at most ten entries and 256 KiB. A message over the size limit is rejected before
 * anything is sent, entries SQS fails on its side are sent again, and every entry that still
 * fails is reported with SQS's code.
 */
export class SqsQueue implements MessageQueue {
  readonly name: string;
  #client: AwsJsonClient | undefined;
  readonly #queueUrl: string;
  readonly #maxSendAttempts: number;
  readonly #retryDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: SqsQueueOptions) {
    this.name = options.queueUrl;
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#maxSendAttempts = options.maxSendAttempts ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  // Calls an SQS operation on this queue. The default client is made here, on the first call, so
  // a function that never touches the queue reads no AWS settings. When making it fails (for
  // want of a region, for example), the next call tries again.
  async #call<Output>(operation: string, input: Record<string, unknown>, options: { timeoutMs?: number } = {}): Promise<Output> {
    this.#client ??= new AwsJsonClient({
      service: SQS,
      region: process.env.AWS_REGION || regionOfQueueUrl(this.#queueUrl),
      endpoint: sqsEndpointFor(this.#queueUrl, process.env),
    });
    return this.#client.call<Output>(operation, { QueueUrl: this.#queueUrl, ...input }, options);
  }

  async send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    const results: SendResult[] = [];
    const sendable: OutgoingMessage[] = [];
    for (const message of messages) {
      const tooLarge = checkMessageSize(message, `message ${message.id}`);
      if (tooLarge === undefined) sendable.push(message);
      else results.push({ id: message.id, ok: false, error: tooLarge });
    }
    for (const chunk of chunkBySize(sendable)) results.push(...(await this.#sendChunk(chunk)));

    const order = new Map(messages.map((message, index) => [message.id, index]));
    return results.sort((left, right) => order.get(left.id)! - order.get(right.id)!);
  }

  // Sends one chunk, sending again the entries SQS failed on its side.
  async #sendChunk(chunk: readonly OutgoingMessage[]): Promise<SendResult[]> {
    const results: SendResult[] = [];
    let pending = [...chunk];
    for (let attempt = 1; pending.length > 0; attempt++) {
      // Batch entry ids must be unique per request and use only letters, digits, '-' and '_'.
      const byEntryId = new Map(pending.map((message, index) => [`m${index}`, message]));
      let output: SendMessageBatchOutput;
      try {
        output = await this.#call<SendMessageBatchOutput>("SendMessageBatch", {
          Entries: [...byEntryId].map(([entryId, message]) => ({ Id: entryId, MessageBody: message.body })),
        });
      } catch (error) {
        // The client has already retried throttling and transient errors of the whole request.
        const failure = requestError("SendMessageBatch", this.#queueUrl, error);
        results.push(...pending.map((message) => ({ id: message.id, ok: false as const, error: failure })));
        return results;
      }

      for (const entry of output.Successful ?? []) {
        const message = byEntryId.get(entry.Id ?? "");
        if (message === undefined) continue;
        results.push({ id: message.id, ok: true, messageId: entry.MessageId ?? "" });
        byEntryId.delete(entry.Id!);
      }
      const retry: OutgoingMessage[] = [];
      for (const entry of output.Failed ?? []) {
        const message = byEntryId.get(entry.Id ?? "");
        if (message === undefined) continue;
        byEntryId.delete(entry.Id!);
        if (entry.SenderFault !== true && attempt < this.#maxSendAttempts) {
          retry.push(message);
        } else {
          results.push({ id: message.id, ok: false, error: entryError(this.#queueUrl, entry, attempt) });
        }
      }
      // An entry SQS neither accepted nor failed is treated as failed on SQS's side.
      for (const message of byEntryId.values()) {
        if (attempt < this.#maxSendAttempts) retry.push(message);
        else results.push({ id: message.id, ok: false, error: entryError(this.#queueUrl, { SenderFault: false, Code: "MissingResult" }, attempt) });
      }

      if (retry.length > 0) {
        logger.warn("SQS failed some batch entries, sending them again", { queueUrl: this.#queueUrl, entries: retry.length, attempt });
        await this.#sleep(this.#retryDelayMs * 2 ** (attempt - 1));
      }
      pending = retry;
    }
    return results;
  }

  /**
   * Receives up to ten messages, waiting at most 20 seconds for one to arrive.
   *
   * A long poll is given its wait plus the client's usual time, so that SQS can hold the request
   * open for the whole wait without the client giving up and leaving the handed-out messages
   * hidden until their visibility timeout ends.
   */
  async receive(options: { maxMessages: number; visibilityTimeoutMs: number; waitTimeMs?: number }): Promise<ReceivedMessage[]> {
    const waitSeconds = Math.min(toSeconds(options.waitTimeMs ?? 0), 20);
    const output = await this.#call<ReceiveMessageOutput>(
      "ReceiveMessage",
      {
        MaxNumberOfMessages: Math.min(Math.max(options.maxMessages, 1), SQS_BATCH_ENTRIES),
        VisibilityTimeout: toSeconds(options.visibilityTimeoutMs),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
      },
      waitSeconds > 0 ? { timeoutMs: waitSeconds * 1000 + LONG_POLL_MARGIN_MS } : {},
    ).catch((error: unknown) => {
      throw requestError("ReceiveMessage", this.#queueUrl, error);
    });
    return (output.Messages ?? []).map((message) => ({
      messageId: message.MessageId ?? "",
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? "1"),
      sentAtMs: Number(message.Attributes?.SentTimestamp ?? "0"),
    }));
  }

  async delete(receiptHandles: readonly string[]): Promise<string[]> {
    return this.#batch("DeleteMessageBatch", receiptHandles, (handles) => ({
      Entries: handles.map((handle, index) => ({ Id: `d${index}`, ReceiptHandle: handle })),
    }));
  }

  async changeVisibility(entries: readonly { receiptHandle: string; visibilityTimeoutMs: number }[]): Promise<string[]> {
    const timeouts = new Map(entries.map((entry) => [entry.receiptHandle, entry.visibilityTimeoutMs]));
    return this.#batch("ChangeMessageVisibilityBatch", [...timeouts.keys()], (handles) => ({
      Entries: handles.map((handle, index) => ({
        Id: `v${index}`,
        ReceiptHandle: handle,
        VisibilityTimeout: toSeconds(timeouts.get(handle)!),
      })),
    }));
  }

  async approximateCount(): Promise<number> {
    const input = { AttributeNames: ["ApproximateNumberOfMessages"] };
    const output = await this.#call<GetQueueAttributesOutput>("GetQueueAttributes", input).catch((error: unknown) => {
      throw requestError("GetQueueAttributes", this.#queueUrl, error);
    });
    return Number(output.Attributes?.ApproximateNumberOfMessages ?? "0");
  }

  // Runs a batch operation over receipt handles in chunks of ten and returns the handles that
  // failed. Entry ids are a letter and the handle's index in its chunk, so `Failed` maps back.
  async #batch(operation: string, handles: readonly string[], inputOf: (chunk: string[]) => Record<string, unknown>): Promise<string[]> {
    const failed: string[] = [];
    for (let start = 0; start < handles.length; start += SQS_BATCH_ENTRIES) {
      const chunk = handles.slice(start, start + SQS_BATCH_ENTRIES);
      try {
        const output = await this.#call<BatchOutput>(operation, inputOf(chunk));
        for (const entry of output.Failed ?? []) {
          const handle = chunk[Number((entry.Id ?? "").slice(1))];
          if (handle !== undefined) failed.push(handle);
        }
      } catch (error) {
        logger.warn("SQS batch request failed", { operation, queueUrl: this.#queueUrl, entries: chunk.length, error: error as Error });
        failed.push(...chunk);
      }
    }
    if (failed.length > 0) logger.warn("SQS did not process some batch entries", { operation, queueUrl: this.#queueUrl, failed: failed.length });
    return failed;
  }
}

/** Splits messages into batches of at most ten entries and {@link MAX_MESSAGE_BYTES} of bodies. */
export function chunkBySize(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = Buffer.byteLength(message.body, "utf8");
    if (current.length === SQS_BATCH_ENTRIES || (current.length > 0 && currentBytes + bytes > MAX_MESSAGE_BYTES)) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Reads the region from a queue URL such as `https://sqs.ap-southeast-1.amazonaws.com/123456789012/jobs`
 * (or `….amazonaws.com.cn` in China). Returns undefined for other hosts, such as a local emulator's.
 */
export function regionOfQueueUrl(url: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//.exec(url)?.[1];
}

/**
 * Returns the endpoint for a queue outside AWS, such as ElasticMQ on a laptop: the queue URL's
 * origin, as the AWS SDK uses it. Returns undefined for an AWS queue URL, or when
 * `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL` names the endpoint, so the client resolves it.
 */
export function sqsEndpointFor(queueUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL) return undefined;
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    return undefined;
  }
  const awsHost = /^(sqs\.[a-z0-9-]+|[a-z0-9-]+\.queue)\.amazonaws\.com(\.cn)?$/.test(url.hostname);
  return awsHost ? undefined : url.origin;
}

function toSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

function entryError(queueUrl: string, entry: BatchResultErrorEntry, attempts: number): BridgeError {
  const blame = entry.SenderFault === true ? "rejected the message" : `failed the message after ${attempts} attempts`;
  const detail = entry.Message === undefined ? "" : `: ${entry.Message.slice(0, 200)}`;
  return new BridgeError("BRIDGE.ENQUEUE_FAILED", `failed to send a job to ${queueUrl}: SQS ${blame} (${entry.Code ?? "no code"})${detail}`, {
    // A sender fault (such as an invalid body) fails again on every retry.
    statusCode: entry.SenderFault === true ? 422 : 503,
  });
}

function requestError(operation: string, queueUrl: string, error: unknown): BridgeError {
  return new BridgeError("BRIDGE.QUEUE_UNAVAILABLE", `failed to call SQS ${operation} on ${queueUrl}: ${describeError(error)}`, {
    statusCode: 503,
    cause: error,
  });
}

// An SQS error response is named by its code and HTTP status. A request that got no response, or
// that was never sent for want of a region or credentials, is named by its code and message.
function describeError(error: unknown): string {
  if (error instanceof AwsServiceError && error.statusCode !== undefined) return `${error.code} (HTTP ${error.statusCode})`;
  // The client's own messages (no region, no credentials) name the fix and are kept whole.
  if (error instanceof AwsServiceError) return `${error.name}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : "UnknownError";
}
