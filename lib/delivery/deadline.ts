import type { Context } from "aws-lambda";

/** Time kept back in direct mode to release the aborted starts and report them; see {@link startsDeadline}. */
export const DIRECT_START_RESERVE_MS = 3_000;

/**
 * Returns the signal that aborts the SecMaster calls of a direct-mode delivery before the
 * invocation ends: {@link DIRECT_START_RESERVE_MS} before, or at half the remaining time when less
 * than twice that is left. The starts cut off then fail as transient with a result per alert, and
 * the handler reports them (ingest returns 502 with Retry-After), instead of the invocation timing
 * out while its calls go on.
 */
export function startsDeadline(context: Context): AbortSignal {
  const remainingMs = context.getRemainingTimeInMillis();
  const reserveMs = Math.min(DIRECT_START_RESERVE_MS, remainingMs / 2);
  return AbortSignal.timeout(Math.max(0, Math.floor(remainingMs - reserveMs)));
}

/** Tells whether `signal` has aborted. A function, so that TypeScript does not narrow `aborted` across awaits. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
