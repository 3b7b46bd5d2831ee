import { Buffer } from "node:buffer";
import * as z from "zod";
import { alertSchema } from "../alert/schema";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { formatPath } from "../sources/parse";
import type { StartJob } from "./job";
import { fitJob, type TruncatedField } from "./truncate";

/**
 * Largest message body a queue accepts, in bytes: the Amazon SQS limit of 262,144 bytes (256 KiB)
 * per message and per `SendMessageBatch` request. The local queue applies the same limit, so a
 * job that fits locally also fits in SQS.
 */
export const MAX_MESSAGE_BYTES = 262_144;

/**
 * Largest JSON size of a job, in bytes, that goes into a queue message as it is. It leaves 4 KiB
 * of {@link MAX_MESSAGE_BYTES} for the envelope and for what a dead letter adds (`lastError`,
 * whose SecMaster message is quoted up to 200 characters, `deadLetteredAt` and a raised
 * `priorAttempts`), so a job that was queued also fits in the dead-letter queue. A larger job has
 * its free-text fields shortened first (`fitJob` of `./truncate`).
 */
export const MAX_JOB_BYTES = MAX_MESSAGE_BYTES - 4_096;

/** A message to send, with the caller's id for matching it to its {@link SendResult}. */
export interface OutgoingMessage {
  /** Unique within one `send` call. */
  id: string;
  body: string;
}

/** Outcome of sending one message. */
export type SendResult = { id: string; ok: true; messageId: string } | { id: string; ok: false; error: BridgeError };

/** A received message, hidden from other receivers until its visibility timeout ends. */
export interface ReceivedMessage {
  messageId: string;
  /** Handle for deleting the message or changing its visibility. */
  receiptHandle: string;
  body: string;
  /** Times the message has been received, this time included. */
  receiveCount: number;
  /** When the message was sent, in epoch milliseconds. */
  sentAtMs: number;
}

/**
 * The queue port: what the bridge needs from a message queue. Amazon SQS (`SqsQueue`) and the
 * on-disk local queue (`LocalQueue`) implement it with the same semantics: at-least-once delivery,
 * a visibility timeout per receive, a receive count, and deletion by receipt handle.
 */
export interface MessageQueue {
  /** Queue URL or folder, for logs and messages. */
  readonly name: string;
  /** Sends messages and reports each one's outcome. It rejects only for programming errors. */
  send(messages: readonly OutgoingMessage[]): Promise<SendResult[]>;
  /** Receives up to `maxMessages` visible messages and hides them for `visibilityTimeoutMs`. */
  receive(options: { maxMessages: number; visibilityTimeoutMs: number; waitTimeMs?: number }): Promise<ReceivedMessage[]>;
  /** Deletes received messages and returns the receipt handles that could not be deleted. */
  delete(receiptHandles: readonly string[]): Promise<string[]>;
  /** Sets when received messages become visible again and returns the handles that failed. */
  changeVisibility(entries: readonly { receiptHandle: string; visibilityTimeoutMs: number }[]): Promise<string[]>;
  /** Number of messages waiting (an estimate for SQS), for counts and progress bars. */
  approximateCount(): Promise<number>;
  /**
   * Calls `listener` after each send that stored a message, so a poller in the same process can
   * wake at once. Returns a function that unsubscribes. Only in-process queues offer it.
   */
  onSend?(listener: () => void): () => void;
}

/** The last failure of a job, kept in the message that goes to the dead-letter queue. */
export interface JobError {
  code: string;
  reason: string;
  retryable: boolean;
  /** True when the failed call may have reached SecMaster. */
  ambiguous: boolean;
  /** Receive count of the message when it failed. */
  receiveCount: number;
  /** ISO 8601 time of the failure. */
  failedAt: string;
}

/**
 * The body of every queue message: a versioned envelope around one {@link StartJob}. The same
 * envelope goes to the dead-letter queue with `lastError` set, so a message moved back by
 * `secmaster-bridge redrive` or by the SQS console's redrive is still a valid job.
 */
export interface JobEnvelope {
  kind: typeof ENVELOPE_KIND;
  version: 1;
  job: StartJob;
  /**
   * Dispatch attempts made before this message was sent: 0 for a new job, at least 1 for a job
   * that was redriven or replayed. A non-zero value makes dispatch look the instance up before
   * posting, because an earlier attempt may have created it.
   */
  priorAttempts: number;
  lastError?: JobError;
  /** ISO 8601 time the job went to the dead-letter queue. */
  deadLetteredAt?: string;
}

const ENVELOPE_KIND = "secmaster-bridge.start-job";

const nonEmpty = z.string().min(1);

const jobSchema = z.object({
  actionInstanceId: nonEmpty,
  projectId: nonEmpty,
  workspaceId: nonEmpty,
  workflowId: nonEmpty,
  dataclass: z.object({ id: nonEmpty.optional(), name: nonEmpty }),
  source: nonEmpty,
  alertKey: z.string(),
  // Optional, so that jobs queued before it existed still decode.
  identity: z.object({ scope: z.string(), key: z.string(), episode: z.string() }).optional(),
  content: alertSchema,
});

const envelopeSchema = z.object({
  kind: z.literal(ENVELOPE_KIND),
  version: z.literal(1),
  job: jobSchema,
  priorAttempts: z.number().int().nonnegative(),
  lastError: z
    .object({
      code: z.string(),
      reason: z.string(),
      retryable: z.boolean(),
      ambiguous: z.boolean(),
      receiveCount: z.number().int().nonnegative(),
      failedAt: z.string(),
    })
    .optional(),
  deadLetteredAt: z.string().optional(),
});

/** Serializes an envelope as a message body. */
export function encodeEnvelope(envelope: JobEnvelope): string {
  return JSON.stringify(envelope);
}

/**
 * Parses a message body into an envelope.
 *
 * @throws BridgeError `BRIDGE.JOB_INVALID` (not retryable) naming the first invalid fields.
 */
export function decodeEnvelope(body: string): JobEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new BridgeError("BRIDGE.JOB_INVALID", `queue message is not valid JSON: ${(error as Error).message}`, {
      statusCode: 422,
      cause: error,
    });
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const summary = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${formatPath(issue.path) || "(root)"}: ${issue.message}`)
      .join("; ");
    throw new BridgeError("BRIDGE.JOB_INVALID", `queue message is not a start job: ${summary}`, { statusCode: 422, cause: parsed.error });
  }
  return parsed.data;
}

/** Wraps a job in a new envelope. */
export function newEnvelope(job: StartJob, priorAttempts = 0): JobEnvelope {
  return { kind: ENVELOPE_KIND, version: 1, job, priorAttempts };
}

/** Outcome of enqueueing one job. */
export type EnqueueResult =
  | {
      /** The job as it was sent: with shortened content when `truncated` is not empty. */
      job: StartJob;
      status: "accepted";
      messageId: string;
      truncated: TruncatedField[];
    }
  | { job: StartJob; status: "failed"; error: BridgeError };

/** A job encoded for a queue message, or the error that keeps it out of every queue. */
export type EncodedJob =
  | { ok: true; job: StartJob; body: string; truncated: TruncatedField[] }
  | { ok: false; job: StartJob; error: BridgeError };

/**
 * Encodes a job in the envelope that `wrap` builds, first shortening the free-text fields of its
 * Alert content when its JSON is over {@link MAX_JOB_BYTES}. A shortened job is logged as a
 * warning with the alert's key and the bytes removed. The result depends only on the job, so
 * the same alert is always shortened the same way.
 *
 * @returns `ok: false` with `BRIDGE.JOB_TOO_LARGE` (422), naming the largest Alert field in
 *   `field`, when the job is still too large after shortening.
 */
export function encodeJob(job: StartJob, wrap: (job: StartJob) => JobEnvelope): EncodedJob {
  const body = encodeEnvelope(wrap(job));
  // The envelope contains the job, so a body within the budget means the job is too.
  if (Buffer.byteLength(body, "utf8") <= MAX_JOB_BYTES) return { ok: true, job, body, truncated: [] };

  const fit = fitJob(job, MAX_JOB_BYTES);
  const ids = { actionInstanceId: job.actionInstanceId, workflowId: job.workflowId, source: job.source, alertKey: job.alertKey.slice(0, 200) };
  if (!fit.fits) {
    const error = new BridgeError(
      "BRIDGE.JOB_TOO_LARGE",
      `failed to queue job ${job.actionInstanceId} for alert ${job.source}/${ids.alertKey}: the job is ${fit.bytes} bytes after shortening ` +
        `its free-text fields, over the ${MAX_JOB_BYTES}-byte limit of a queue message; its largest field is ${fit.field} (${fit.fieldBytes} bytes)`,
      {
        statusCode: 422,
        field: fit.field,
        fix: `make the sender send less of the data that becomes the SecMaster Alert field ${fit.field}, such as fewer labels or entries; a queue message holds 256 KiB per alert`,
      },
    );
    // Callers log the failure with the rest of the delivery's outcome.
    return { ok: false, job, error };
  }
  if (fit.truncated.length > 0) {
    const removedBytes = fit.truncated.reduce((sum, field) => sum + field.removedBytes, 0);
    logger.warn("alert text truncated to fit a queue message", { ...ids, removedBytes, fields: fit.truncated.map((field) => field.field) });
  }
  return { ok: true, job: fit.job, body: encodeEnvelope(wrap(fit.job)), truncated: fit.truncated };
}

/**
 * Sends one message per job and reports each job's outcome in input order. A job over
 * {@link MAX_JOB_BYTES} is shortened by {@link encodeJob}; one that still does not fit fails
 * with `BRIDGE.JOB_TOO_LARGE` before anything is sent, and the others are still sent.
 *
 * @param options.priorAttempts set to 1 for replayed jobs, which an earlier run may have started.
 */
export async function enqueueJobs(
  queue: MessageQueue,
  jobs: readonly StartJob[],
  options: { priorAttempts?: number } = {},
): Promise<EnqueueResult[]> {
  const encoded = jobs.map((job) => encodeJob(job, (fitted) => newEnvelope(fitted, options.priorAttempts ?? 0)));
  const outcomes = new Map<string, SendResult>();
  const sendable: OutgoingMessage[] = [];
  for (const [index, item] of encoded.entries()) {
    if (item.ok) sendable.push({ id: String(index), body: item.body });
    else outcomes.set(String(index), { id: String(index), ok: false, error: item.error });
  }
  if (sendable.length > 0) {
    for (const result of await queue.send(sendable)) outcomes.set(result.id, result);
  }

  return encoded.map((item, index): EnqueueResult => {
    const { job } = item;
    const outcome = outcomes.get(String(index));
    if (outcome === undefined) {
      const error = new BridgeError("BRIDGE.ENQUEUE_FAILED", `failed to enqueue job ${job.actionInstanceId}: the queue returned no result for it`, {
        statusCode: 503,
      });
      return { job, status: "failed", error };
    }
    if (!outcome.ok) return { job, status: "failed", error: outcome.error };
    return { job, status: "accepted", messageId: outcome.messageId, truncated: item.ok ? item.truncated : [] };
  });
}

/**
 * Returns the `BRIDGE.JOB_TOO_LARGE` error of a message over {@link MAX_MESSAGE_BYTES}, or
 * undefined when it fits. `subject` names the message in the error, such as its job id.
 */
export function checkMessageSize(message: OutgoingMessage, subject: string): BridgeError | undefined {
  const bytes = Buffer.byteLength(message.body, "utf8");
  if (bytes <= MAX_MESSAGE_BYTES) return undefined;
  return new BridgeError(
    "BRIDGE.JOB_TOO_LARGE",
    `failed to enqueue ${subject}: the message is ${bytes} bytes and the queue limit is ${MAX_MESSAGE_BYTES} bytes`,
    { statusCode: 413, fix: "shorten the alert's description or labels at the sender; the queue cannot carry it" },
  );
}
