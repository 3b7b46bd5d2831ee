import { Buffer } from "node:buffer";
import { setTimeout as delay } from "node:timers/promises";
import type { BatchResultErrorEntry, SQSClient } from "@aws-sdk/client-sqs";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { checkMessageSize, MAX_MESSAGE_BYTES, type MessageQueue, type OutgoingMessage, type ReceivedMessage, type SendResult } from "./queue";

type SqsModule = typeof import("@aws-sdk/client-sqs");

let sqsModule: Promise<SqsModule> | undefined;

// The SQS client package is loaded on first use and kept; a failed load is tried again next time.
function loadSqsModule(): Promise<SqsModule> {
  sqsModule ??= import("@aws-sdk/client-sqs").catch((error: unknown) => {
    sqsModule = undefined;
    throw error;
  });
  return sqsModule;
}

/** Entries per SQS batch request, the service's maximum. */
export const SQS_BATCH_ENTRIES = 10;

/** Settings of an {@link SqsQueue}. */
export interface SqsQueueOptions {
  /**
   * Client to send with. Without one, the queue loads `@aws-sdk/client-sqs` and makes a client on
   * its first request. Dispatch uses the queue only to delay and dead-letter failed jobs, so it
   * does not load the SQS client at cold start.
   */
  client?: SQSClient;
  queueUrl: string;
  /**
   * Attempts per batch for entries that SQS failed without blaming the sender (`SenderFault`
   * false), the first one included. The SDK client retries whole requests on its own.
   * @default 3
   */
  maxSendAttempts?: number;
  /**
   * Wait before the second attempt of failed entries, in milliseconds. It doubles per attempt.
   * @default 100
   */
  retryDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The queue port over an Amazon SQS standard queue. Sends go out with `SendMessageBatch` in
 * chunks of at most ten entries and 256 KiB. A message over the size limit is rejected before
 * anything is sent, entries SQS fails on its side are sent again, and every entry that still
 * fails is reported with SQS's code.
 */
export class SqsQueue implements MessageQueue {
  readonly name: string;
  #client: SQSClient | undefined;
  readonly #queueUrl: string;
  readonly #maxSendAttempts: number;
  readonly #retryDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  #ownsClient = false;

  constructor(options: SqsQueueOptions) {
    this.name = options.queueUrl;
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#maxSendAttempts = options.maxSendAttempts ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  // The client and the command classes, loading the SQS package the first time.
  async #api(): Promise<{ client: SQSClient; sqs: SqsModule }> {
    const sqs = await loadSqsModule();
    if (this.#client === undefined) {
      this.#client = new sqs.SQSClient({});
      this.#ownsClient = true;
    }
    return { client: this.#client, sqs };
  }

  /** Releases the connections of a client this queue made itself; a client passed in is left to its owner. */
  destroy(): void {
    if (this.#ownsClient) this.#client?.destroy();
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
      let output;
      try {
        const { client, sqs } = await this.#api();
        output = await client.send(
          new sqs.SendMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: [...byEntryId].map(([entryId, message]) => ({ Id: entryId, MessageBody: message.body })),
          }),
        );
      } catch (error) {
        // The SDK has already retried throttling and transient errors of the whole request.
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
        else results.push({ id: message.id, ok: false, error: entryError(this.#queueUrl, { Id: undefined, SenderFault: false, Code: "MissingResult" }, attempt) });
      }

      if (retry.length > 0) {
        logger.warn("SQS failed some batch entries, sending them again", { queueUrl: this.#queueUrl, entries: retry.length, attempt });
        await this.#sleep(this.#retryDelayMs * 2 ** (attempt - 1));
      }
      pending = retry;
    }
    return results;
  }

  async receive(options: { maxMessages: number; visibilityTimeoutMs: number; waitTimeMs?: number }): Promise<ReceivedMessage[]> {
    const { client, sqs } = await this.#api();
    const output = await client
      .send(
        new sqs.ReceiveMessageCommand({
          QueueUrl: this.#queueUrl,
          MaxNumberOfMessages: Math.min(Math.max(options.maxMessages, 1), SQS_BATCH_ENTRIES),
          VisibilityTimeout: toSeconds(options.visibilityTimeoutMs),
          WaitTimeSeconds: Math.min(toSeconds(options.waitTimeMs ?? 0), 20),
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
        }),
      )
      .catch((error: unknown) => {
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
    return this.#batch("DeleteMessageBatch", receiptHandles, ({ client, sqs }, entries) =>
      client.send(
        new sqs.DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: entries.map((handle, index) => ({ Id: `d${index}`, ReceiptHandle: handle })),
        }),
      ),
    );
  }

  async changeVisibility(entries: readonly { receiptHandle: string; visibilityTimeoutMs: number }[]): Promise<string[]> {
    const timeouts = new Map(entries.map((entry) => [entry.receiptHandle, entry.visibilityTimeoutMs]));
    return this.#batch("ChangeMessageVisibilityBatch", [...timeouts.keys()], ({ client, sqs }, handles) =>
      client.send(
        new sqs.ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: handles.map((handle, index) => ({
            Id: `v${index}`,
            ReceiptHandle: handle,
            VisibilityTimeout: toSeconds(timeouts.get(handle)!),
          })),
        }),
      ),
    );
  }

  async approximateCount(): Promise<number> {
    const { client, sqs } = await this.#api();
    const output = await client
      .send(new sqs.GetQueueAttributesCommand({ QueueUrl: this.#queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }))
      .catch((error: unknown) => {
        throw requestError("GetQueueAttributes", this.#queueUrl, error);
      });
    return Number(output.Attributes?.ApproximateNumberOfMessages ?? "0");
  }

  // Runs a batch operation over receipt handles in chunks of ten and returns the handles that failed.
  async #batch(
    operation: string,
    handles: readonly string[],
    call: (api: { client: SQSClient; sqs: SqsModule }, chunk: string[]) => Promise<{ Failed?: BatchResultErrorEntry[] | undefined }>,
  ): Promise<string[]> {
    const failed: string[] = [];
    for (let start = 0; start < handles.length; start += SQS_BATCH_ENTRIES) {
      const chunk = handles.slice(start, start + SQS_BATCH_ENTRIES);
      try {
        const output = await call(await this.#api(), chunk);
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
  const name = error instanceof Error ? error.name : "UnknownError";
  return new BridgeError("BRIDGE.QUEUE_UNAVAILABLE", `failed to call SQS ${operation} on ${queueUrl}: ${name}`, {
    statusCode: 503,
    cause: error,
  });
}
