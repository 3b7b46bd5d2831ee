import * as z from "zod";
import { SEVERITIES, type Severity } from "./alert/schema";
import { parseAuthSettings, AUTH_PREFIX, type AuthSettings } from "./auth/settings";
import { ConfigError } from "./errors";

/** SecMaster credentials: an access key pair (optionally temporary) or an IAM token. */
export type SecMasterCredentials =
  | { kind: "aksk"; accessKey: string; secretKey: string; securityToken?: string }
  | { kind: "token"; token: string };

/** Every setting of the bridge, parsed once at cold start. */
export interface BridgeConfig {
  secmaster: {
    /** Explicit endpoint URL; otherwise derived from `region`. */
    endpoint: string | undefined;
    region: string | undefined;
    projectId: string;
    workspaceId: string;
    /** Workflow that receives every alert no route claims. */
    workflowId: string;
    dataclassName: string;
    dataclassId: string | undefined;
    credentials: SecMasterCredentials;
    /** Budget of one CreateWorkflowInstance call including retries, in milliseconds. */
    timeoutMs: number;
    maxAttempts: number;
    /** Wait for the response headers, and between body chunks, of one attempt, in milliseconds. */
    attemptTimeoutMs: number;
    /** Upper bound of the first backoff between attempts, in milliseconds. */
    retryBaseDelayMs: number;
    /** Look an instance up after an ambiguous failure instead of posting it again blindly. */
    checkAmbiguous: boolean;
  };
  idempotency: {
    tableName: string;
    /** DynamoDB endpoint override, set for dynalite on a laptop. */
    dynamodbEndpoint: string | undefined;
    ttlSeconds: number;
  };
  ingest: {
    maxBodyBytes: number;
    /** Limits on the parsed body; see `lib/limits.ts`. */
    maxJsonDepth: number;
    maxJsonKeys: number;
    maxStringLength: number;
    maxAlertsPerDelivery: number;
    dispatchConcurrency: number;
    defaultSeverity: Severity;
    /** `skip` acknowledges resolved alerts without starting anything. */
    resolvedAlerts: "skip";
    genericMappingFiles: string[];
    /** Settings per source id, such as Splunk's trigger mode; checked against each adapter at start. */
    sourceOptions: Record<string, unknown>;
  };
  routing: {
    /** YAML or JSON routing file shipped with the code. */
    file: string | undefined;
    /** SSM parameter holding the routing file's text; exclusive with `file`. */
    ssmParameter: string | undefined;
  };
  /** YAML or JSON file declaring the scheduled triggers. */
  schedulesFile: string | undefined;
  delivery: DeliveryConfig;
  /** Inbound authentication per source, from the `BRIDGE_AUTH_<SOURCE>*` variables. */
  auth: AuthSettings;
  logLevel: string;
}

/** Delivery settings: how ingest hands alerts to dispatch and SecMaster. */
export interface DeliveryConfig {
  /** `queue`: ingest enqueues jobs and returns 202, then dispatch starts them. `direct`: ingest starts them inline. */
  mode: "queue" | "direct";
  /** SQS queue of jobs; without it a local run uses the on-disk queue under `BRIDGE_DATA_DIR`. */
  queueUrl: string | undefined;
  /** SQS dead-letter queue that dispatch sends failed jobs to, with their last error. */
  deadLetterQueueUrl: string | undefined;
  /** Receives of a job before it is dead-lettered; the redrive policy's `maxReceiveCount`. */
  maxReceives: number;
  /** Wait before a failed job's second receive, in milliseconds; it doubles per receive. */
  retryBaseDelayMs: number;
  /** Maximum wait before a failed job is received again, in milliseconds. */
  retryMaxDelayMs: number;
  /** How long before the function timeout dispatch aborts its SecMaster calls, in milliseconds. */
  earlyTimeoutMs: number;
  /** Local queue only: how long a received job stays hidden, and the simulated function timeout, in milliseconds. */
  localVisibilityTimeoutMs: number;
  /** Local queue only: jobs handed to one dispatch invocation. */
  localBatchSize: number;
}

/** Values of `LOG_LEVEL`, the Powertools Logger levels from the most verbose to none. Any letter case is accepted. */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"] as const;

/** Prefixes of the variables the bridge owns; an unknown name with one of them is a typo. */
const OWNED_PREFIXES = ["SECMASTER_", "BRIDGE_"] as const;

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();
const requiredText = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : undefined) })
  .trim()
  .min(1, "is required");
// Built once and shared: every zod node costs construction time at cold start.
const positiveWholeNumber = z
  .string()
  .trim()
  .regex(/^-?\d+$/, "must be a whole number")
  .transform(Number)
  .refine((value) => value > 0, "must be a positive whole number (1 or more)")
  .optional();

// Defaults of the whole-number settings. They are applied after the check, so that every such
// setting shares the one schema above.
const WHOLE_NUMBER_DEFAULTS = {
  SECMASTER_TIMEOUT_MS: 20_000,
  SECMASTER_MAX_ATTEMPTS: 4,
  SECMASTER_ATTEMPT_TIMEOUT_MS: 10_000,
  SECMASTER_RETRY_BASE_DELAY_MS: 200,
  BRIDGE_IDEMPOTENCY_TTL_SECONDS: 7 * 24 * 3600,
  BRIDGE_MAX_BODY_BYTES: 5 * 1024 * 1024,
  BRIDGE_MAX_JSON_DEPTH: 64,
  BRIDGE_MAX_JSON_KEYS: 100_000,
  BRIDGE_MAX_STRING_LENGTH: 1024 * 1024,
  BRIDGE_MAX_ALERTS_PER_DELIVERY: 1000,
  BRIDGE_SECRETS_TTL_SECONDS: 300,
  BRIDGE_DISPATCH_CONCURRENCY: 8,
  BRIDGE_MAX_RECEIVES: 5,
  BRIDGE_RETRY_BASE_DELAY_MS: 5_000,
  BRIDGE_RETRY_MAX_DELAY_MS: 900_000,
  BRIDGE_DISPATCH_EARLY_TIMEOUT_MS: 5_000,
  BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS: 60,
  BRIDGE_DISPATCH_BATCH_SIZE: 10,
} as const;

type WholeNumberSetting = keyof typeof WHOLE_NUMBER_DEFAULTS;

function withWholeNumberDefaults<T extends Partial<Record<WholeNumberSetting, number | undefined>>>(values: T): Omit<T, WholeNumberSetting> & Record<WholeNumberSetting, number> {
  const filled: Record<string, unknown> = { ...values };
  for (const [name, fallback] of Object.entries(WHOLE_NUMBER_DEFAULTS)) filled[name] ??= fallback;
  return filled as Omit<T, WholeNumberSetting> & Record<WholeNumberSetting, number>;
}
const optionalUrl = optionalText.pipe(z.url({ protocol: /^https?$/ }).optional());
const optionalBoolean = optionalText.pipe(z.enum(["true", "false"]).optional());

/** Variables read from the environment, with their defaults. Exported for the docs test. */
export const ENVIRONMENT_SCHEMA = z.object({
  SECMASTER_ENDPOINT: optionalUrl,
  SECMASTER_REGION: optionalText,
  SECMASTER_PROJECT_ID: requiredText,
  SECMASTER_WORKSPACE_ID: requiredText,
  SECMASTER_WORKFLOW_ID: requiredText,
  SECMASTER_DATACLASS_NAME: optionalText.transform((value) => value ?? "Alert"),
  SECMASTER_DATACLASS_ID: optionalText,
  SECMASTER_AK: optionalText,
  SECMASTER_SK: optionalText,
  SECMASTER_SECURITY_TOKEN: optionalText,
  SECMASTER_AUTH_TOKEN: optionalText,
  SECMASTER_TIMEOUT_MS: positiveWholeNumber,
  SECMASTER_MAX_ATTEMPTS: positiveWholeNumber,
  SECMASTER_ATTEMPT_TIMEOUT_MS: positiveWholeNumber,
  SECMASTER_RETRY_BASE_DELAY_MS: positiveWholeNumber,
  SECMASTER_EMULATOR_PORT: optionalText,
  SECMASTER_EMULATOR_FAULTS: optionalText,
  BRIDGE_IDEMPOTENCY_TABLE: optionalText.transform((value) => value ?? "secmaster-bridge-idempotency"),
  BRIDGE_DYNAMODB_ENDPOINT: optionalUrl,
  BRIDGE_IDEMPOTENCY_TTL_SECONDS: positiveWholeNumber,
  BRIDGE_MAX_BODY_BYTES: positiveWholeNumber,
  BRIDGE_MAX_JSON_DEPTH: positiveWholeNumber,
  BRIDGE_MAX_JSON_KEYS: positiveWholeNumber,
  BRIDGE_MAX_STRING_LENGTH: positiveWholeNumber,
  BRIDGE_MAX_ALERTS_PER_DELIVERY: positiveWholeNumber,
  BRIDGE_REQUIRE_AUTH: optionalBoolean,
  BRIDGE_SECRETS_TTL_SECONDS: positiveWholeNumber,
  BRIDGE_DISPATCH_CONCURRENCY: positiveWholeNumber,
  BRIDGE_DEFAULT_SEVERITY: optionalText.pipe(z.enum(SEVERITIES).optional()).transform((value) => value ?? "Medium"),
  BRIDGE_RESOLVED_ALERTS: optionalText.pipe(z.enum(["skip"]).optional()).transform((value) => value ?? "skip"),
  BRIDGE_GENERIC_MAPPINGS: optionalText,
  BRIDGE_SOURCE_OPTIONS: optionalText.pipe(
    z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          context.addIssue({ code: "custom", message: "must be a JSON object keyed by source id, such as {\"splunk\":{\"trigger\":\"once\"}}" });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string(), z.unknown(), { error: "must be a JSON object keyed by source id" }))
      .optional(),
  ),
  BRIDGE_ROUTES_FILE: optionalText,
  BRIDGE_ROUTES_SSM_PARAMETER: optionalText.pipe(
    z.string().regex(/^\/?[A-Za-z0-9_.\-/]{1,2047}$/, "must be an SSM parameter name such as /secmaster-bridge/prod/routes").optional(),
  ),
  BRIDGE_SCHEDULES_FILE: optionalText,
  BRIDGE_DATA_DIR: optionalText,
  BRIDGE_LOCAL_HOST: optionalText,
  BRIDGE_MODE: optionalText.pipe(z.enum(["queue", "direct"]).optional()).transform((value) => value ?? "queue"),
  BRIDGE_QUEUE_URL: optionalUrl,
  BRIDGE_DLQ_URL: optionalUrl,
  BRIDGE_MAX_RECEIVES: positiveWholeNumber,
  BRIDGE_RETRY_BASE_DELAY_MS: positiveWholeNumber,
  BRIDGE_RETRY_MAX_DELAY_MS: positiveWholeNumber,
  BRIDGE_DISPATCH_EARLY_TIMEOUT_MS: positiveWholeNumber,
  BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS: positiveWholeNumber,
  BRIDGE_DISPATCH_BATCH_SIZE: positiveWholeNumber,
  BRIDGE_CHECK_AMBIGUOUS: optionalBoolean.transform((value) => value !== "false"),
  PORT: optionalText,
  LOG_LEVEL: optionalText
    .pipe(
      z
        .string()
        .transform((value) => value.toUpperCase())
        .pipe(z.enum(LOG_LEVELS))
        .optional(),
    )
    .transform((value) => value ?? "INFO"),
});

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * Whether the environment names every generic mapping the routing file may refer to, as under
   * `npm start`, so the file checks also reject a `match.source` that matches no source id, as
   * `secmaster-bridge routes check` does. The deployed events and schedule functions read
   * ingest's routing file without its mappings, so they leave it off. @default false
   */
  checkRouteSources?: boolean;
}

/**
 * Check of the settings that name files or sources (generic mappings, `BRIDGE_SOURCE_OPTIONS`,
 * the routing and schedules files). It returns one issue per problem.
 */
export type SettingsFileCheck = (env: Readonly<Record<string, string | undefined>>, options: LoadConfigOptions) => string[];

const settingsFileChecks = new Set<SettingsFileCheck>();

/**
 * Registers a check that {@link loadConfig} runs when the environment has problems, so that its
 * error also lists the problems of the files the environment names. The module that reads those
 * files registers it, which keeps the source adapters and the YAML parser out of bundles that
 * load only the configuration, such as the dispatch function's.
 */
export function registerSettingsFileCheck(check: SettingsFileCheck): void {
  settingsFileChecks.add(check);
}

/**
 * Parses the environment into a {@link BridgeConfig}.
 *
 * @throws ConfigError listing every missing or invalid variable at once, and every unknown
 *   `SECMASTER_*` or `BRIDGE_*` name (a misspelt setting would otherwise be ignored silently).
 *   The same error lists the problems the registered file checks find. When the environment
 *   itself is valid, those checks run where the files are read, as in `createIngestRuntime`.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, options: LoadConfigOptions = {}): BridgeConfig {
  const issues: string[] = [];
  const known = new Set(Object.keys(ENVIRONMENT_SCHEMA.shape));
  for (const name of Object.keys(env).sort()) {
    // BRIDGE_AUTH_<SOURCE>* names are checked by parseAuthSettings.
    if (OWNED_PREFIXES.some((prefix) => name.startsWith(prefix)) && !known.has(name) && !name.startsWith(AUTH_PREFIX)) {
      issues.push(`${name}: unknown setting; check the spelling against the README's settings table`);
    }
  }

  const parsed = ENVIRONMENT_SCHEMA.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push(`${issue.path.join(".")}: ${issue.message}`);
    }
  }
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  if (text("BRIDGE_ROUTES_FILE") !== undefined && text("BRIDGE_ROUTES_SSM_PARAMETER") !== undefined) {
    issues.push("BRIDGE_ROUTES_SSM_PARAMETER: set either BRIDGE_ROUTES_FILE or BRIDGE_ROUTES_SSM_PARAMETER, not both");
  }
  if (text("SECMASTER_ENDPOINT") === undefined && text("SECMASTER_REGION") === undefined) {
    issues.push("SECMASTER_REGION: set a region such as cn-north-4, or SECMASTER_ENDPOINT to a full URL");
  }
  checkDelivery(text, env, issues);
  const credentials = readCredentials(text, issues);
  const auth = readAuth(text, env, issues);
  if (!parsed.success || issues.length > 0 || credentials === undefined) {
    for (const check of settingsFileChecks) issues.push(...check(env, options));
    throw new ConfigError(issues);
  }
  const vars = withWholeNumberDefaults(parsed.data);

  return {
    secmaster: {
      endpoint: vars.SECMASTER_ENDPOINT,
      region: vars.SECMASTER_REGION,
      projectId: vars.SECMASTER_PROJECT_ID,
      workspaceId: vars.SECMASTER_WORKSPACE_ID,
      workflowId: vars.SECMASTER_WORKFLOW_ID,
      dataclassName: vars.SECMASTER_DATACLASS_NAME,
      dataclassId: vars.SECMASTER_DATACLASS_ID,
      credentials,
      timeoutMs: vars.SECMASTER_TIMEOUT_MS,
      maxAttempts: vars.SECMASTER_MAX_ATTEMPTS,
      attemptTimeoutMs: vars.SECMASTER_ATTEMPT_TIMEOUT_MS,
      retryBaseDelayMs: vars.SECMASTER_RETRY_BASE_DELAY_MS,
      checkAmbiguous: vars.BRIDGE_CHECK_AMBIGUOUS,
    },
    idempotency: {
      tableName: vars.BRIDGE_IDEMPOTENCY_TABLE,
      dynamodbEndpoint: vars.BRIDGE_DYNAMODB_ENDPOINT,
      ttlSeconds: vars.BRIDGE_IDEMPOTENCY_TTL_SECONDS,
    },
    ingest: {
      maxBodyBytes: vars.BRIDGE_MAX_BODY_BYTES,
      maxJsonDepth: vars.BRIDGE_MAX_JSON_DEPTH,
      maxJsonKeys: vars.BRIDGE_MAX_JSON_KEYS,
      maxStringLength: vars.BRIDGE_MAX_STRING_LENGTH,
      maxAlertsPerDelivery: vars.BRIDGE_MAX_ALERTS_PER_DELIVERY,
      dispatchConcurrency: vars.BRIDGE_DISPATCH_CONCURRENCY,
      defaultSeverity: vars.BRIDGE_DEFAULT_SEVERITY,
      resolvedAlerts: vars.BRIDGE_RESOLVED_ALERTS,
      genericMappingFiles: (vars.BRIDGE_GENERIC_MAPPINGS ?? "")
        .split(",")
        .map((file) => file.trim())
        .filter((file) => file !== ""),
      sourceOptions: vars.BRIDGE_SOURCE_OPTIONS ?? {},
    },
    routing: { file: vars.BRIDGE_ROUTES_FILE, ssmParameter: vars.BRIDGE_ROUTES_SSM_PARAMETER },
    schedulesFile: vars.BRIDGE_SCHEDULES_FILE,
    delivery: {
      mode: vars.BRIDGE_MODE,
      queueUrl: vars.BRIDGE_QUEUE_URL,
      deadLetterQueueUrl: vars.BRIDGE_DLQ_URL,
      maxReceives: vars.BRIDGE_MAX_RECEIVES,
      retryBaseDelayMs: vars.BRIDGE_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: vars.BRIDGE_RETRY_MAX_DELAY_MS,
      earlyTimeoutMs: vars.BRIDGE_DISPATCH_EARLY_TIMEOUT_MS,
      localVisibilityTimeoutMs: vars.BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS * 1000,
      localBatchSize: vars.BRIDGE_DISPATCH_BATCH_SIZE,
    },
    auth,
    logLevel: vars.LOG_LEVEL,
  };
}

// Authentication is required on Lambda, where BRIDGE_REQUIRE_AUTH=false is an error, and optional
// locally so the quick start works without secrets (each unauthenticated delivery logs a warning).
function readAuth(
  text: (name: string) => string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  issues: string[],
): AuthSettings {
  const onLambda = env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
  const required = text("BRIDGE_REQUIRE_AUTH");
  if (onLambda && required === "false") {
    issues.push("BRIDGE_REQUIRE_AUTH: cannot be false on AWS Lambda; set BRIDGE_AUTH_<SOURCE>=none for a source that is meant to be open");
  }
  const ttl = Number(text("BRIDGE_SECRETS_TTL_SECONDS") ?? WHOLE_NUMBER_DEFAULTS.BRIDGE_SECRETS_TTL_SECONDS);
  return parseAuthSettings(env, { requireAuth: onLambda || required === "true", secretsTtlSeconds: Number.isFinite(ttl) ? ttl : 300 }, issues);
}

// Checks the delivery settings that depend on each other.
function checkDelivery(text: (name: string) => string | undefined, env: Readonly<Record<string, string | undefined>>, issues: string[]): void {
  if (text("BRIDGE_MODE") === "direct") return;
  // On Lambda there is no local folder to fall back on: the queue must be named.
  if (text("BRIDGE_QUEUE_URL") === undefined && env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
    issues.push("BRIDGE_QUEUE_URL: required in queue mode on AWS Lambda; set the SQS queue URL, or BRIDGE_MODE=direct");
  }
  const earlyMs = Number(text("BRIDGE_DISPATCH_EARLY_TIMEOUT_MS") ?? 5_000);
  const visibilityMs = Number(text("BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS") ?? 60) * 1000;
  if (text("BRIDGE_QUEUE_URL") === undefined && earlyMs >= visibilityMs) {
    issues.push(
      `BRIDGE_DISPATCH_EARLY_TIMEOUT_MS: must be less than BRIDGE_QUEUE_VISIBILITY_TIMEOUT_SECONDS (${visibilityMs} ms), ` +
        "which is the local dispatcher's function timeout",
    );
  }
}

function readCredentials(
  text: (name: string) => string | undefined,
  issues: string[],
): SecMasterCredentials | undefined {
  const accessKey = text("SECMASTER_AK");
  const secretKey = text("SECMASTER_SK");
  const token = text("SECMASTER_AUTH_TOKEN");
  const securityToken = text("SECMASTER_SECURITY_TOKEN");
  if ((accessKey !== undefined || secretKey !== undefined) && token !== undefined) {
    issues.push("SECMASTER_AUTH_TOKEN: set either SECMASTER_AK/SECMASTER_SK or SECMASTER_AUTH_TOKEN, not both");
    return undefined;
  }
  if (token !== undefined) return { kind: "token", token };
  if (accessKey === undefined || secretKey === undefined) {
    const missing = accessKey === undefined ? "SECMASTER_AK" : "SECMASTER_SK";
    issues.push(`${missing}: SecMaster credentials are required; set SECMASTER_AK and SECMASTER_SK, or SECMASTER_AUTH_TOKEN`);
    return undefined;
  }
  return { kind: "aksk", accessKey, secretKey, ...(securityToken === undefined ? {} : { securityToken }) };
}
