import { createHash } from "node:crypto";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { startAwsStandin, StandinFault, type AwsStandin } from "./aws-standin";

/**
 * An in-memory model of Amazon SQS standard queues, served by an {@link AwsStandin} over the AWS
 * JSON protocol. It covers the operations the bridge calls (`SendMessageBatch`, `ReceiveMessage`,
 * `DeleteMessageBatch`, `ChangeMessageVisibilityBatch`, `GetQueueAttributes`) with the service's
 * checks and error codes for batches, queue URLs, message characters and receipt handles. Message
 * ids count up from `00000000-0000-4000-8000-000000000001`, so tests can expect them as literals.
 *
 * Left out: FIFO queues, delays, retention, message attributes and the redrive policy.
 */

/** The largest total size of the bodies of one batch, in bytes, as SQS enforces it. */
const MAX_BATCH_BYTES = 262_144;
const MAX_BATCH_ENTRIES = 10;

/** A message as the model stores it. */
export interface SqsModelMessage {
  messageId: string;
  body: string;
  sentAtMs: number;
  receiveCount: number;
  /** When the message may be received again, in epoch milliseconds. It is 0 before the first receive. */
  visibleAtMs: number;
  /** Handle of the latest receive. Only this handle deletes the message or changes its visibility. */
  receiptHandle: string | undefined;
}

/** A per-entry failure, as SQS reports it in `Failed`. */
export interface SqsEntryFault {
  SenderFault: boolean;
  Code: string;
  Message?: string;
}

/** A `SendMessageBatch` entry, as passed to a test's fault rule. */
export interface SqsSendEntry {
  Id: string;
  MessageBody: string;
}

export interface SqsModel {
  /** Creates an empty queue. The model returns `QueueDoesNotExist` for any other URL. */
  createQueue(queueUrl: string): void;
  /** Messages of a queue, visible or not, oldest first. */
  messages(queueUrl: string): SqsModelMessage[];
  /** Inputs of the calls to one SQS operation, such as `SendMessageBatch`, in order of arrival. */
  inputs(operation: string): Record<string, unknown>[];
  /**
   * Makes `SendMessageBatch` fail the entries for which `rule` returns a fault, instead of
   * storing them. Passing undefined removes the rule. Entries with characters SQS does not accept fail on
   * their own, with `InvalidMessageContents`.
   */
  failEntries(rule: ((entry: SqsSendEntry, queueUrl: string) => SqsEntryFault | undefined) | undefined): void;
}

// Characters SQS accepts in a body: #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF.
const INVALID_BODY_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Builds a whole-request error with the code and the `x-amzn-query-error` header that SQS sends with it. */
function sqsFault(code: string, queryCode: string, message: string): StandinFault {
  return new StandinFault(code, message, 400, { headers: { "x-amzn-query-error": `${queryCode};Sender` } });
}

// A string field of the input, or "" when it is missing or not a string.
function textOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function md5Hex(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

/**
 * Registers the SQS model's handlers on `standin`, with `queues` created empty. `nowMs` is the
 * clock for sent times and visibility timeouts.
 */
export function serveSqs(standin: AwsStandin, options: { queues?: readonly string[]; nowMs?: () => number } = {}): SqsModel {
  const nowMs = options.nowMs ?? (() => Date.now());
  const queues = new Map<string, SqsModelMessage[]>();
  for (const queueUrl of options.queues ?? []) queues.set(queueUrl, []);
  let messageCount = 0;
  let entryRule: ((entry: SqsSendEntry, queueUrl: string) => SqsEntryFault | undefined) | undefined;

  const queueOf = (input: Record<string, unknown>): { queueUrl: string; messages: SqsModelMessage[] } => {
    const queueUrl = input.QueueUrl;
    if (typeof queueUrl !== "string" || queueUrl === "") {
      throw sqsFault("MissingParameter", "AWS.SimpleQueueService.MissingParameter", "The request must contain the parameter QueueUrl.");
    }
    const messages = queues.get(queueUrl);
    if (messages === undefined) {
      throw sqsFault("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
    }
    return { queueUrl, messages };
  };

  // The checks SQS makes on the entries of every batch operation before it looks at any entry.
  const entriesOf = (input: Record<string, unknown>, entryName: string): Record<string, unknown>[] => {
    const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
    if (entries.length === 0) {
      throw sqsFault("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", `There should be at least one ${entryName} in the request.`);
    }
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw sqsFault(
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
      );
    }
    const ids = new Set<string>();
    for (const entry of entries) {
      const id = textOf(entry.Id);
      if (!BATCH_ENTRY_ID.test(id)) {
        throw sqsFault(
          "InvalidBatchEntryId",
          "AWS.SimpleQueueService.InvalidBatchEntryId",
          "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
        );
      }
      if (ids.has(id)) throw sqsFault("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", `Id ${id} repeated.`);
      ids.add(id);
    }
    return entries;
  };

  const invalidHandleEntry = (entry: Record<string, unknown>): Record<string, unknown> => ({
    Id: entry.Id,
    SenderFault: true,
    Code: "ReceiptHandleIsInvalid",
    Message: `The input receipt handle "${textOf(entry.ReceiptHandle)}" is not a valid receipt handle.`,
  });

  const inFlight = (messages: SqsModelMessage[], receiptHandle: unknown): SqsModelMessage | undefined =>
    messages.find((message) => message.receiptHandle !== undefined && message.receiptHandle === receiptHandle);

  standin.handle("AmazonSQS.SendMessageBatch", (input) => {
    const { queueUrl, messages } = queueOf(input);
    const entries = entriesOf(input, "SendMessageBatchRequestEntry");
    const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(textOf(entry.MessageBody), "utf8"), 0);
    if (bytes > MAX_BATCH_BYTES) {
      throw sqsFault(
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${bytes} bytes.`,
      );
    }

    const successful: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      const sent: SqsSendEntry = { Id: textOf(entry.Id), MessageBody: textOf(entry.MessageBody) };
      const fault = INVALID_BODY_CHARACTER.test(sent.MessageBody)
        ? { SenderFault: true, Code: "InvalidMessageContents", Message: "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF" }
        : entryRule?.(sent, queueUrl);
      if (fault !== undefined) {
        failed.push({ Id: sent.Id, ...fault });
        continue;
      }
      messageCount += 1;
      const messageId = `00000000-0000-4000-8000-${String(messageCount).padStart(12, "0")}`;
      messages.push({ messageId, body: sent.MessageBody, sentAtMs: nowMs(), receiveCount: 0, visibleAtMs: 0, receiptHandle: undefined });
      successful.push({ Id: sent.Id, MessageId: messageId, MD5OfMessageBody: md5Hex(sent.MessageBody) });
    }
    return { Successful: successful, Failed: failed };
  });

  standin.handle("AmazonSQS.ReceiveMessage", (input) => {
    const { messages } = queueOf(input);
    const maxMessages = input.MaxNumberOfMessages === undefined ? 1 : Number(input.MaxNumberOfMessages);
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_BATCH_ENTRIES) {
      throw sqsFault("InvalidParameterValue", "InvalidParameterValue", `Value ${String(input.MaxNumberOfMessages)} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.`);
    }
    // The model keeps no visibility timeout per queue, so it uses SQS's default of 30 seconds.
    const visibilitySeconds = input.VisibilityTimeout === undefined ? 30 : Number(input.VisibilityTimeout);
    const requested = new Set([...((input.MessageSystemAttributeNames as string[] | undefined) ?? []), ...((input.AttributeNames as string[] | undefined) ?? [])]);
    const wants = (name: string) => requested.has(name) || requested.has("All");

    // The model ignores WaitTimeSeconds and returns at once.
    const now = nowMs();
    const received = messages.filter((message) => message.visibleAtMs <= now).slice(0, maxMessages);
    if (received.length === 0) return {};
    return {
      Messages: received.map((message) => {
        message.receiveCount += 1;
        message.visibleAtMs = now + visibilitySeconds * 1000;
        message.receiptHandle = `rh-${message.messageId.slice(-12)}-${message.receiveCount}`;
        const attributes: Record<string, string> = {};
        if (wants("ApproximateReceiveCount")) attributes.ApproximateReceiveCount = String(message.receiveCount);
        if (wants("SentTimestamp")) attributes.SentTimestamp = String(message.sentAtMs);
        return {
          MessageId: message.messageId,
          ReceiptHandle: message.receiptHandle,
          MD5OfBody: md5Hex(message.body),
          Body: message.body,
          ...(Object.keys(attributes).length === 0 ? {} : { Attributes: attributes }),
        };
      }),
    };
  });

  standin.handle("AmazonSQS.DeleteMessageBatch", (input) => {
    const { messages } = queueOf(input);
    const successful: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const entry of entriesOf(input, "DeleteMessageBatchRequestEntry")) {
      const message = inFlight(messages, entry.ReceiptHandle);
      if (message === undefined) {
        failed.push(invalidHandleEntry(entry));
        continue;
      }
      messages.splice(messages.indexOf(message), 1);
      successful.push({ Id: entry.Id });
    }
    return { Successful: successful, Failed: failed };
  });

  standin.handle("AmazonSQS.ChangeMessageVisibilityBatch", (input) => {
    const { messages } = queueOf(input);
    const now = nowMs();
    const successful: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const entry of entriesOf(input, "ChangeMessageVisibilityBatchRequestEntry")) {
      const message = inFlight(messages, entry.ReceiptHandle);
      if (message === undefined) {
        failed.push(invalidHandleEntry(entry));
      } else if (message.visibleAtMs <= now) {
        failed.push({ Id: entry.Id, SenderFault: true, Code: "MessageNotInflight", Message: "The message referred to is not in flight." });
      } else {
        message.visibleAtMs = now + Number(entry.VisibilityTimeout ?? 0) * 1000;
        successful.push({ Id: entry.Id });
      }
    }
    return { Successful: successful, Failed: failed };
  });

  standin.handle("AmazonSQS.GetQueueAttributes", (input) => {
    const { messages } = queueOf(input);
    const requested = new Set((input.AttributeNames as string[] | undefined) ?? []);
    const wants = (name: string) => requested.has(name) || requested.has("All");
    const now = nowMs();
    const attributes: Record<string, string> = {};
    if (wants("ApproximateNumberOfMessages")) attributes.ApproximateNumberOfMessages = String(messages.filter((message) => message.visibleAtMs <= now).length);
    if (wants("ApproximateNumberOfMessagesNotVisible")) {
      attributes.ApproximateNumberOfMessagesNotVisible = String(messages.filter((message) => message.visibleAtMs > now).length);
    }
    return Object.keys(attributes).length === 0 ? {} : { Attributes: attributes };
  });

  return {
    createQueue: (queueUrl) => void queues.set(queueUrl, []),
    messages: (queueUrl) => queues.get(queueUrl) ?? [],
    inputs: (operation) => standin.calls.filter((call) => call.target === `AmazonSQS.${operation}`).map((call) => call.input),
    failEntries: (rule) => {
      entryRule = rule;
    },
  };
}

// Variables through which the AWS SDK or our client could pick up settings of the machine that
// runs the tests instead of the stand-in's.
const FOREIGN_AWS_VARIABLES = [
  "AWS_PROFILE",
  "AWS_DEFAULT_REGION",
  "AWS_SESSION_TOKEN",
  "AWS_ENDPOINT_URL_SQS",
  "AWS_ENDPOINT_URL_SSM",
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
];

/**
 * Points `process.env` at `standin` with `vi.stubEnv`: its region, credentials and endpoint, then
 * `overrides`. Other AWS settings of this machine are cleared, and the EC2 instance metadata
 * service is disabled, so a credential chain that misses the stand-in's keys fails at once
 * instead of asking 169.254.169.254. Undo it with `vi.unstubAllEnvs()`.
 */
export function stubStandinEnv(standin: AwsStandin, overrides: Record<string, string> = {}): void {
  for (const name of FOREIGN_AWS_VARIABLES) vi.stubEnv(name, "");
  vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
  for (const [name, value] of Object.entries({ ...standin.env(), ...overrides })) vi.stubEnv(name, value ?? "");
}

/** The stand-in and the SQS model of the running test. */
export interface SqsStandinFixture {
  standin: AwsStandin;
  sqs: SqsModel;
}

/**
 * Gives every test of the calling suite a fresh stand-in with the SQS model and `queues`, and
 * points `process.env` at it with {@link stubStandinEnv}. After each test it checks that the
 * stand-in rejected no request, then closes it.
 */
export function useSqsStandin(queues: readonly string[], options: { region?: string } = {}): SqsStandinFixture {
  const fixture = {} as SqsStandinFixture;
  beforeEach(async () => {
    fixture.standin = await startAwsStandin({ region: options.region ?? "ap-southeast-1" });
    fixture.sqs = serveSqs(fixture.standin, { queues });
    stubStandinEnv(fixture.standin);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    expect(fixture.standin.refused).toEqual([]);
    await fixture.standin.close();
  });
  return fixture;
}
