import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { checkMessageSize, decodeEnvelope, encodeEnvelope, type JobError, type MessageQueue, type OutgoingMessage, type ReceivedMessage, type SendResult } from "./queue";

/** Settings of a {@link LocalQueue}. */
export interface LocalQueueOptions {
  /** Folder holding one file per message; created when missing. */
  dir: string;
  /**
   * Queue that receives a message once it has been received `maxReceives` times without being
   * deleted, as an SQS redrive policy does.
   */
  deadLetter?: { queue: LocalQueue; maxReceives: number };
  /**
   * Whether a sent message is flushed to the disk (fsync) before `send` resolves, so that it
   * survives a power loss and not only a crash of the process.
   * @default true
   */
  durable?: boolean;
  /**
   * How often `receive` looks for message files that another process (the `redrive` and `replay`
   * commands) added to the folder, in milliseconds.
   * @default 500
   */
  rescanIntervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Content of one message file. */
interface StoredMessage {
  id: string;
  body: string;
  sentAtMs: number;
  receiveCount: number;
  /** The message is hidden from `receive` until this epoch millisecond. */
  visibleAtMs: number;
}

const storedMessageSchema = z.object({
  id: z.string(),
  body: z.string(),
  sentAtMs: z.number(),
  receiveCount: z.number().int().nonnegative(),
  visibleAtMs: z.number(),
});

const MESSAGE_FILE = /^([0-9a-z]+-[0-9a-f-]{36})\.json$/;
const TEMPORARY_FILE = /\.(\d+)\.tmp$/;

/**
 * An on-disk queue with the semantics of an SQS standard queue, for local runs: a visibility
 * timeout per receive, a receive count, and dead-lettering after a number of receives.
 *
 * Each message is one JSON file in the folder, replaced atomically (write a temporary file,
 * rename it over the old one) on every change. A message that `send` accepted is therefore on
 * disk before the bridge returns 202, and survives a crash or `kill -9` of the process. After a
 * restart it is delivered again once its visibility timeout has passed. Delivery is at least
 * once, as with SQS; the idempotent start keeps a job delivered twice from starting twice.
 *
 * One process receives from a folder at a time. Other processes may add messages (the
 * `redrive` and `replay` commands do); the receiver finds them within `rescanIntervalMs`.
 */
export class LocalQueue implements MessageQueue {
  readonly name: string;
  readonly #dir: string;
  readonly #deadLetter: LocalQueueOptions["deadLetter"];
  readonly #durable: boolean;
  readonly #rescanIntervalMs: number;
  readonly #now: () => number;
  readonly #messages = new Map<string, StoredMessage>();
  readonly #listeners = new Set<() => void>();
  #lastScanMs = 0;
  #sequence = 0;

  /**
   * Opens the folder and loads every message in it.
   *
   * @throws BridgeError `BRIDGE.QUEUE_STATE_INVALID` naming a message file that is not valid; a
   *   crash cannot produce one, because files are only ever replaced whole.
   */
  constructor(options: LocalQueueOptions) {
    this.name = options.dir;
    this.#dir = options.dir;
    this.#deadLetter = options.deadLetter;
    this.#durable = options.durable ?? true;
    this.#rescanIntervalMs = options.rescanIntervalMs ?? 500;
    this.#now = options.now ?? Date.now;
    mkdirSync(this.#dir, { recursive: true });
    for (const name of readdirSync(this.#dir)) {
      // A temporary file of a process that is gone is a write that a crash cut short; the message
      // it was replacing is intact. Another live process may still be writing its own.
      const match = TEMPORARY_FILE.exec(name);
      if (match !== null && !isRunning(Number(match[1]))) rmSync(join(this.#dir, name), { force: true });
    }
    this.#scan();
  }

  /** Number of messages in the queue, the ones received and not yet deleted included. */
  size(): number {
    return this.#messages.size;
  }

  /** Calls `listener` after each successful `send`; returns a function that unsubscribes. */
  onSend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(messages: readonly OutgoingMessage[]): Promise<SendResult[]> {
    const results = messages.map((message): SendResult => {
      const tooLarge = checkMessageSize(message, `message ${message.id}`);
      if (tooLarge !== undefined) return { id: message.id, ok: false, error: tooLarge };
      const nowMs = this.#now();
      const stored: StoredMessage = { id: this.#newId(nowMs), body: message.body, sentAtMs: nowMs, receiveCount: 0, visibleAtMs: nowMs };
      try {
        this.#write(stored, this.#durable);
      } catch (error) {
        const failure = new BridgeError("BRIDGE.ENQUEUE_FAILED", `failed to write a job to the local queue ${this.#dir}: ${(error as Error).message}`, {
          statusCode: 503,
          cause: error,
        });
        return { id: message.id, ok: false, error: failure };
      }
      this.#messages.set(stored.id, stored);
      return { id: message.id, ok: true, messageId: stored.id };
    });
    if (this.#durable && results.some((result) => result.ok)) syncFolder(this.#dir);
    if (results.some((result) => result.ok)) for (const listener of this.#listeners) listener();
    return Promise.resolve(results);
  }

  receive(options: { maxMessages: number; visibilityTimeoutMs: number }): Promise<ReceivedMessage[]> {
    const nowMs = this.#now();
    if (nowMs - this.#lastScanMs >= this.#rescanIntervalMs) this.#scan();

    const received: ReceivedMessage[] = [];
    for (const message of [...this.#messages.values()]) {
      if (received.length >= options.maxMessages) break;
      if (message.visibleAtMs > nowMs) continue;
      if (this.#deadLetter !== undefined && message.receiveCount >= this.#deadLetter.maxReceives) {
        this.#moveToDeadLetter(message, nowMs);
        continue;
      }
      const updated = { ...message, receiveCount: message.receiveCount + 1, visibleAtMs: nowMs + options.visibilityTimeoutMs };
      this.#write(updated, false);
      this.#messages.set(updated.id, updated);
      received.push({
        messageId: updated.id,
        receiptHandle: `${updated.id}#${updated.receiveCount}`,
        body: updated.body,
        receiveCount: updated.receiveCount,
        sentAtMs: updated.sentAtMs,
      });
    }
    return Promise.resolve(received);
  }

  delete(receiptHandles: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    for (const handle of receiptHandles) {
      const id = messageIdOf(handle);
      try {
        rmSync(this.#fileOf(id), { force: true });
        this.#messages.delete(id);
      } catch (error) {
        logger.warn("failed to delete a local queue message", { queue: this.#dir, messageId: id, error: error as Error });
        failed.push(handle);
      }
    }
    return Promise.resolve(failed);
  }

  changeVisibility(entries: readonly { receiptHandle: string; visibilityTimeoutMs: number }[]): Promise<string[]> {
    const failed: string[] = [];
    const nowMs = this.#now();
    for (const entry of entries) {
      const message = this.#messages.get(messageIdOf(entry.receiptHandle));
      if (message === undefined) {
        failed.push(entry.receiptHandle);
        continue;
      }
      const updated = { ...message, visibleAtMs: nowMs + entry.visibilityTimeoutMs };
      this.#write(updated, false);
      this.#messages.set(updated.id, updated);
    }
    return Promise.resolve(failed);
  }

  approximateCount(): Promise<number> {
    this.#scan();
    return Promise.resolve(this.#messages.size);
  }

  /**
   * Counts the messages that no receive can return yet: those received by a consumer that has not
   * deleted them (it may have stopped), and those waiting out a retry delay. `lastVisibleAtMs` is
   * when the last of them becomes visible again, in milliseconds since the epoch.
   */
  hiddenMessages(): { count: number; lastVisibleAtMs: number | undefined } {
    this.#scan();
    const nowMs = this.#now();
    let count = 0;
    let lastVisibleAtMs: number | undefined;
    for (const message of this.#messages.values()) {
      if (message.visibleAtMs <= nowMs) continue;
      count += 1;
      lastVisibleAtMs = Math.max(lastVisibleAtMs ?? 0, message.visibleAtMs);
    }
    return { count, lastVisibleAtMs };
  }

  // Moves a message that was received too often to the dead-letter queue, keeping its last error
  // when dispatch recorded one and adding a receive-count error otherwise.
  #moveToDeadLetter(message: StoredMessage, nowMs: number): void {
    const deadLetter = this.#deadLetter!;
    let body = message.body;
    try {
      const envelope = decodeEnvelope(message.body);
      const lastError: JobError = envelope.lastError ?? {
        code: "BRIDGE.MAX_RECEIVES_EXCEEDED",
        reason: `the job was received ${message.receiveCount} times without finishing; the dispatcher may have crashed or timed out`,
        retryable: true,
        ambiguous: true,
        receiveCount: message.receiveCount,
        failedAt: new Date(nowMs).toISOString(),
      };
      body = encodeEnvelope({ ...envelope, lastError, deadLetteredAt: new Date(nowMs).toISOString() });
    } catch {
      // An invalid body goes to the dead-letter queue unchanged, where an operator can read it.
    }
    const moved: StoredMessage = { id: message.id, body, sentAtMs: message.sentAtMs, receiveCount: message.receiveCount, visibleAtMs: nowMs };
    deadLetter.queue.#write(moved, deadLetter.queue.#durable);
    deadLetter.queue.#messages.set(moved.id, moved);
    rmSync(this.#fileOf(message.id), { force: true });
    this.#messages.delete(message.id);
    logger.error("job moved to the dead-letter queue after too many receives", {
      messageId: message.id,
      receiveCount: message.receiveCount,
      deadLetterQueue: deadLetter.queue.name,
    });
  }

  // Reads the folder: loads message files this process does not know and drops the ones deleted from disk.
  #scan(): void {
    this.#lastScanMs = this.#now();
    const seen = new Set<string>();
    const found: StoredMessage[] = [];
    for (const name of readdirSync(this.#dir).sort()) {
      const match = MESSAGE_FILE.exec(name);
      if (match === null) continue;
      const id = match[1]!;
      seen.add(id);
      if (this.#messages.has(id)) continue;
      let text: string;
      try {
        text = readFileSync(join(this.#dir, name), "utf8");
      } catch (error) {
        // Another process deleted or moved the file after readdir listed it.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      found.push(parseMessageFile(text, join(this.#dir, name)));
    }
    for (const id of this.#messages.keys()) if (!seen.has(id)) this.#messages.delete(id);
    for (const message of found) this.#messages.set(message.id, message);
  }

  #write(message: StoredMessage, durable: boolean): void {
    const target = this.#fileOf(message.id);
    const temporary = `${target}.${process.pid}.tmp`;
    const fd = openSync(temporary, "w");
    try {
      writeSync(fd, JSON.stringify(message));
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, target);
  }

  #fileOf(id: string): string {
    return join(this.#dir, `${id}.json`);
  }

  // Ids sort in sending order: the time in base 36, a counter, then a UUID for uniqueness.
  #newId(nowMs: number): string {
    this.#sequence = (this.#sequence + 1) % 1_296;
    return `${nowMs.toString(36).padStart(9, "0")}${this.#sequence.toString(36).padStart(2, "0")}-${randomUUID()}`;
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function messageIdOf(receiptHandle: string): string {
  const hash = receiptHandle.lastIndexOf("#");
  return hash < 0 ? receiptHandle : receiptHandle.slice(0, hash);
}

function parseMessageFile(text: string, file: string): StoredMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = storedMessageSchema.safeParse(json);
  if (!parsed.success) {
    throw new BridgeError("BRIDGE.QUEUE_STATE_INVALID", `failed to load the local queue: ${file} is not a queue message; fix or delete the file`);
  }
  return parsed.data;
}

// Flushes the folder entry of renamed files, so that they survive a power loss.
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a folder; the files themselves are flushed.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Folder of the local queues inside `BRIDGE_DATA_DIR`. */
export const LOCAL_QUEUE_DIR = "queue";

/**
 * Opens the local jobs queue and its dead-letter queue under `dataDir`: `queue/jobs` and
 * `queue/dead-letters`. A job received `maxReceives` times without being deleted moves to the
 * dead-letter queue on its next receive.
 */
export function openLocalQueues(dataDir: string, maxReceives: number, options: Pick<LocalQueueOptions, "durable" | "now"> = {}): { queue: LocalQueue; deadLetters: LocalQueue } {
  const deadLetters = new LocalQueue({ ...options, dir: join(dataDir, LOCAL_QUEUE_DIR, "dead-letters") });
  const queue = new LocalQueue({ ...options, dir: join(dataDir, LOCAL_QUEUE_DIR, "jobs"), deadLetter: { queue: deadLetters, maxReceives } });
  return { queue, deadLetters };
}
