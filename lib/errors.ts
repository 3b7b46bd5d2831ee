/**
 * The bridge's error hierarchy. Every error carries a stable `code` to branch on, an HTTP
 * `statusCode` used where it crosses the HTTP edge, and the original `cause`.
 *
 * Codes starting with `BRIDGE.` are ours. The HTTP edge turns them into
 * `application/problem+json` responses whose `type` is the code in kebab case after
 * `urn:secmaster-bridge:problem:`, such as `urn:secmaster-bridge:problem:payload-invalid`.
 */
export class BridgeError extends Error {
  override name = "BridgeError";
  readonly code: string;
  readonly statusCode: number;
  /** JSON path into the original input that caused the error, such as `alerts[3].startsAt`. */
  readonly field: string | undefined;
  /** Action the sender or operator can take to fix the error. */
  readonly fix: string | undefined;

  constructor(
    code: string,
    message: string,
    options: { statusCode?: number; cause?: unknown; field?: string; fix?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
    this.field = options.field;
    this.fix = options.fix;
  }
}

/** Input that can never succeed as sent: the sender must change it. */
export class InvalidInputError extends BridgeError {
  override name = "InvalidInputError";
  constructor(
    code: string,
    message: string,
    options: { statusCode?: number; cause?: unknown; field?: string; fix?: string } = {},
  ) {
    super(code, message, { statusCode: 422, ...options });
  }
}

/** A setting is missing or invalid; raised once at cold start with every problem listed. */
export class ConfigError extends BridgeError {
  override name = "ConfigError";
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super("BRIDGE.CONFIG_INVALID", `invalid configuration:\n  - ${issues.join("\n  - ")}`, { statusCode: 500 });
    this.issues = issues;
  }
}

/** Failed SecMaster call, with the status, error code and request id of the response. */
export class SecMasterError extends BridgeError {
  override name = "SecMasterError";
  /** HTTP status SecMaster (or its gateway) returned; 0 when no response arrived. */
  readonly httpStatus: number;
  /** `error_code` or `code` from the response body, such as `APIG.0308` or `SecMaster.20030025`. */
  readonly errorCode: string | undefined;
  /** `error_msg` or `message` from the response body. */
  readonly errorMessage: string | undefined;
  /** Value of the `X-Request-Id` response header, for Huawei Cloud support. */
  readonly requestId: string | undefined;
  /** True when a later attempt may succeed (network errors, 429, 5xx). */
  readonly retryable: boolean;
  /** True when the request may have reached SecMaster although no response was read. */
  readonly ambiguous: boolean;

  constructor(
    message: string,
    details: {
      httpStatus: number;
      errorCode?: string | undefined;
      errorMessage?: string | undefined;
      requestId?: string | undefined;
      retryable: boolean;
      ambiguous?: boolean;
      cause?: unknown;
    },
  ) {
    const code = details.httpStatus === 0 ? "BRIDGE.SECMASTER_UNREACHABLE" : "BRIDGE.SECMASTER_REJECTED";
    super(code, message, { statusCode: 502, cause: details.cause });
    this.httpStatus = details.httpStatus;
    this.errorCode = details.errorCode;
    this.errorMessage = details.errorMessage;
    this.requestId = details.requestId;
    this.retryable = details.retryable;
    this.ambiguous = details.ambiguous ?? false;
  }
}

/**
 * Runs `load` and moves the issues of a ConfigError it throws into `issues`, so that a caller can
 * check several settings and report every problem in one error. Other errors pass through.
 */
export function collectIssues<T>(issues: string[], load: () => T): T | undefined {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
    return undefined;
  }
}
