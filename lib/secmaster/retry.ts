import { setTimeout as delay } from "node:timers/promises";

/** How often and how long the client retries a failed call. */
export interface RetryOptions {
  /**
   * Attempts per call, the first one included. `1` turns retries off.
   * @default 4
   */
  maxAttempts?: number;
  /**
   * Upper bound of the first backoff delay; the bound doubles with each attempt.
   * @default 200
   */
  baseDelayMs?: number;
  /**
   * Cap of the backoff bound. A longer `Retry-After` from the server still wins.
   * @default 10_000
   */
  maxDelayMs?: number;
  /**
   * Time budget of a call, measured with the client's clock from the call's start. No retry is
   * scheduled to start after it, but an attempt in flight runs until its own timeouts.
   * @default 20_000
   */
  deadlineMs?: number;
}

/** {@link RetryOptions} with every default applied. */
export type RetryPolicy = Required<RetryOptions>;

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  deadlineMs: 20_000,
};

/**
 * Computes the wait before the attempt after `failedAttempt` (1-based) with full jitter: a uniform
 * draw from `[0, min(maxDelayMs, baseDelayMs * 2^(failedAttempt - 1)))`. Full jitter spreads the
 * retries of many clients that were throttled at the same moment. When the server sent
 * `Retry-After`, the wait is at least that long.
 */
export function backoffDelayMs(
  failedAttempt: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number,
  retryAfterMs?: number,
): number {
  const boundMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  const jitteredMs = Math.floor(random() * boundMs);
  return Math.max(jitteredMs, retryAfterMs ?? 0);
}

/**
 * Reads a `Retry-After` header value, either delay seconds (`"3"`) or an HTTP date, as milliseconds
 * from `now`. Returns undefined for a missing or unreadable value and 0 for a date in the past.
 */
export function parseRetryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;

  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - now.getTime());
}

/** Waits `ms` milliseconds; rejects with an `AbortError` as soon as the signal aborts. */
export async function sleepWithSignal(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal === undefined ? undefined : { signal });
}
