import { AwsServiceError, SECRETS_MANAGER, SSM, type AwsJsonClient, type AwsJsonService } from "../aws/client";
import { splitSecretValue, type SecretReference } from "./settings";

/**
 * Fetching of `ssm:` and `secretsmanager:` secret references with {@link AwsJsonClient}: SSM
 * `GetParameters` in batches and Secrets Manager `GetSecretValue` per secret, all at once.
 */

/** Returns the client of one AWS service. */
export type AwsClientFactory = (service: AwsJsonService) => AwsJsonClient;

/** Names per `GetParameters` call; SSM rejects a call with more. */
export const SSM_NAMES_PER_CALL = 10;

type SsmReference = Extract<SecretReference, { kind: "ssm" }>;
type SecretsManagerReference = Extract<SecretReference, { kind: "secretsmanager" }>;

interface SsmParameter {
  Name?: string;
  ARN?: string;
  Selector?: string;
  Type?: string;
  Value?: string;
}

interface GetParametersOutput {
  Parameters?: SsmParameter[];
  InvalidParameters?: string[];
}

interface GetSecretValueOutput {
  SecretString?: string;
}

/**
 * A failed fetch of one or more references. The message and `reason` name what failed and never
 * contain a secret value, so both may be logged.
 */
export class SecretFetchError extends Error {
  override name = "SecretFetchError";

  constructor(
    /** References the failed call was for; every one of them is unavailable. */
    readonly references: readonly SecretReference[],
    /** Reason of the failure, such as an AWS error code or a missing JSON key. */
    readonly reason: string,
    /** True for throttling, 5xx responses, timeouts and network errors, which a later call may not hit. */
    readonly transient: boolean,
    cause?: unknown,
  ) {
    super(`failed to fetch ${references.map((reference) => reference.label).join(", ")}: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

/**
 * Fetches the values of `ssm:` and `secretsmanager:` references, by label. Each SSM call requests
 * up to {@link SSM_NAMES_PER_CALL} names with decryption, each secret is read once however many
 * of its JSON keys are referenced, and every call runs concurrently. `value` references are
 * skipped. A service's client is requested from `clientOf` only when a reference needs it.
 *
 * @throws SecretFetchError for the first call that fails or a value that is missing or empty.
 */
export async function fetchSecretValues(references: readonly SecretReference[], clientOf: AwsClientFactory): Promise<Map<string, readonly string[]>> {
  const values = new Map<string, readonly string[]>();
  const parameters = references.filter((reference): reference is SsmReference => reference.kind === "ssm");
  const secrets = new Map<string, SecretsManagerReference[]>();
  for (const reference of references) {
    if (reference.kind !== "secretsmanager") continue;
    const sameSecret = secrets.get(reference.secretId);
    if (sameSecret === undefined) secrets.set(reference.secretId, [reference]);
    else sameSecret.push(reference);
  }

  const calls: Promise<void>[] = [];
  for (let start = 0; start < parameters.length; start += SSM_NAMES_PER_CALL) {
    calls.push(fetchParameters(parameters.slice(start, start + SSM_NAMES_PER_CALL), clientOf, values));
  }
  for (const [secretId, secretReferences] of secrets) calls.push(fetchSecret(secretId, secretReferences, clientOf, values));
  await Promise.all(calls);
  return values;
}

async function fetchParameters(batch: SsmReference[], clientOf: AwsClientFactory, values: Map<string, readonly string[]>): Promise<void> {
  const output = await callService(batch, SSM, clientOf, (client) =>
    client.call<GetParametersOutput>("GetParameters", { Names: batch.map((reference) => reference.name), WithDecryption: true }),
  );

  // SSM returns a versioned or labelled name (`/name:3`) as `Name` plus `Selector`.
  const parametersByName = new Map<string, SsmParameter>();
  for (const parameter of output.Parameters ?? []) {
    for (const id of [parameter.Name, parameter.ARN]) {
      if (id !== undefined) parametersByName.set(`${id}${parameter.Selector ?? ""}`, parameter);
    }
  }
  const invalid = new Set(output.InvalidParameters ?? []);

  for (const reference of batch) {
    const parameter = parametersByName.get(reference.name);
    if (invalid.has(reference.name) || parameter === undefined) {
      throw new SecretFetchError([reference], "parameter not found: SSM returned the name in InvalidParameters", false);
    }
    const value = parameter.Value ?? "";
    // A StringList contains its items separated by commas, and each item may hold several lines.
    const items = parameter.Type === "StringList" ? value.split(",") : [value];
    values.set(reference.label, nonEmpty(reference, items.flatMap(splitSecretValue)));
  }
}

async function fetchSecret(
  secretId: string,
  references: SecretsManagerReference[],
  clientOf: AwsClientFactory,
  values: Map<string, readonly string[]>,
): Promise<void> {
  const output = await callService(references, SECRETS_MANAGER, clientOf, (client) => client.call<GetSecretValueOutput>("GetSecretValue", { SecretId: secretId }));
  const text = output.SecretString;
  if (typeof text !== "string") {
    throw new SecretFetchError(references, "the secret has no SecretString; binary secrets are not supported", false);
  }

  let parsed: unknown;
  for (const reference of references) {
    if (reference.jsonKey === undefined) {
      values.set(reference.label, nonEmpty(reference, splitSecretValue(text)));
      continue;
    }
    parsed ??= parseSecretJson(text, reference);
    const value = typeof parsed === "object" && parsed !== null && Object.hasOwn(parsed, reference.jsonKey) ? (parsed as Record<string, unknown>)[reference.jsonKey] : undefined;
    if (value === undefined) throw new SecretFetchError([reference], `the SecretString has no JSON key ${JSON.stringify(reference.jsonKey)}`, false);
    const strings = typeof value === "string" ? [value] : Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
    values.set(reference.label, nonEmpty(reference, strings.flatMap(splitSecretValue)));
  }
}

async function callService<Output>(
  references: readonly SecretReference[],
  service: AwsJsonService,
  clientOf: AwsClientFactory,
  call: (client: AwsJsonClient) => Promise<Output>,
): Promise<Output> {
  try {
    return await call(clientOf(service));
  } catch (error) {
    const transient = error instanceof AwsServiceError && error.retryable;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new SecretFetchError(references, reason, transient, error);
  }
}

// JSON.parse's message quotes the start of the text, which is the secret, so only a fixed reason is kept.
function parseSecretJson(text: string, reference: SecretsManagerReference): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SecretFetchError([reference], `the SecretString is not JSON, so its key ${JSON.stringify(reference.jsonKey)} cannot be read`, false);
  }
}

function nonEmpty(reference: SecretReference, strings: string[]): string[] {
  if (strings.length === 0) throw new SecretFetchError([reference], "the stored value is empty", false);
  return strings;
}
