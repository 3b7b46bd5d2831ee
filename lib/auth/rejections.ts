import { BridgeError } from "../errors";
import type { ProblemDetails } from "../http/problem";
import { logger } from "../logger";

/**
 * Reason a request failed authentication. Only logs carry it: the sender always reads
 * "authentication failed", so a prober learns nothing about which check failed.
 */
export type AuthFailureReason =
  | "source-not-configured"
  | "ip-not-allowed"
  | "credentials-missing"
  | "credentials-mismatch"
  | "signature-missing"
  | "signature-malformed"
  | "signature-mismatch"
  | "timestamp-missing"
  | "timestamp-invalid"
  | "timestamp-outside-window"
  | "message-invalid"
  | "message-type-unsupported"
  | "signature-version-unsupported"
  | "cert-url-rejected"
  | "cert-fetch-failed"
  | "cert-invalid"
  | "topic-not-allowed";

/** The 401/403 rejection of an inbound request. */
export class AuthenticationError extends BridgeError {
  override name = "AuthenticationError";
  readonly reason: AuthFailureReason;
  /** `WWW-Authenticate` value of a 401, set by the inbound checks once the source is known. */
  challenge: string | undefined;

  constructor(reason: AuthFailureReason, status: 401 | 403 = 401) {
    super(status === 401 ? "BRIDGE.AUTH_FAILED" : "BRIDGE.AUTH_FORBIDDEN", "authentication failed", {
      statusCode: status,
      field: "(request)",
      fix: "check the credentials or signature settings of this source with the bridge operator",
    });
    this.reason = reason;
  }
}

/** Options of {@link RejectionLog}. */
export interface RejectionLogOptions {
  /** Log lines allowed per source, code and reason within one window. @default 5 */
  linesPerWindow?: number;
  /** @default 60000 */
  windowMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Most distinct keys tracked; older windows are dropped first. @default 1000 */
  maxKeys?: number;
}

/**
 * Logs rejected deliveries with the source, stable code, reason and request id, at most
 * `linesPerWindow` lines per (source, code, reason) and window. The first line of a new window
 * reports how many were suppressed, so a flood of bad requests cannot flood the logs.
 */
export class RejectionLog {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { startMs: number; logged: number; suppressed: number }>();

  constructor(options: RejectionLogOptions = {}) {
    this.#limit = options.linesPerWindow ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 1000;
  }

  /**
   * Logs one rejection unless its key is over the limit, and returns whether a line was written.
   * `sourceIp` is the client address, which an `ip-not-allowed` line shows so the operator can
   * tell which address to allow. Lines are limited per kind of rejection, not per address, so the
   * lines of a window show the addresses of its first rejections.
   */
  record(problem: ProblemDetails, details: { source: string | undefined; reason: string | undefined; error?: unknown; sourceIp?: string | undefined }): boolean {
    const key = `${details.source ?? "-"}|${problem.code}|${details.reason ?? "-"}`;
    const now = this.#now();
    let window = this.#windows.get(key);
    let suppressedBefore = 0;
    if (window === undefined || now - window.startMs >= this.#windowMs) {
      suppressedBefore = window?.suppressed ?? 0;
      if (window === undefined && this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
      window = { startMs: now, logged: 0, suppressed: 0 };
      this.#windows.set(key, window);
    }
    if (window.logged >= this.#limit) {
      window.suppressed += 1;
      return false;
    }
    window.logged += 1;

    const attributes = {
      status: problem.status,
      code: problem.code,
      reason: details.reason,
      source: details.source,
      field: problem.field,
      requestId: problem.instance,
      ...(details.sourceIp === undefined ? {} : { sourceIp: details.sourceIp }),
      ...(suppressedBefore > 0 ? { suppressedSinceLastLine: suppressedBefore } : {}),
    };
    if (problem.status >= 500) logger.error("delivery rejected", { ...attributes, error: details.error as Error });
    else logger.warn("delivery rejected", attributes);
    return true;
  }
}

/** Returns the `WWW-Authenticate` header of a 401 rejection, or no headers for any other error. */
export function challengeHeaders(error: unknown): Record<string, string> {
  if (!(error instanceof AuthenticationError) || error.statusCode !== 401 || error.challenge === undefined) return {};
  return { "www-authenticate": error.challenge };
}

/** Returns the logged reason of an error: the authentication reason, else undefined. */
export function rejectionReason(error: unknown): string | undefined {
  return error instanceof AuthenticationError ? error.reason : undefined;
}
