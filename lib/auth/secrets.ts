import type middy from "@middy/core";
import { AwsJsonClient, type AwsJsonService } from "../aws/client";
import type { SecMasterCredentials } from "../config";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { fetchSecretValues, SecretFetchError, type AwsClientFactory } from "./secret-fetch";
import { parseSecretReference, type AuthSettings, type SecretReference } from "./settings";

export type { AwsClientFactory } from "./secret-fetch";

/** Secret values fetched from SSM Parameter Store and Secrets Manager, by reference label (`ssm:/name`). */
export type SecretValues = ReadonlyMap<string, readonly string[]>;

/** Options of {@link loadSecrets}. */
export interface LoadSecretsOptions {
  /** Settings with the references to fetch; read on the first invocation. */
  authOf: () => AuthSettings;
  /** SecMaster credentials, whose `ssm:` and `secretsmanager:` values are fetched too. */
  secmasterOf?: () => SecMasterCredentials;
  /**
   * Makes the SSM or Secrets Manager client, once per service, on the first fetch that needs it.
   * @default `new AwsJsonClient({ service })`, which reads the region, credentials and endpoint from the environment
   */
  clientOf?: AwsClientFactory;
  /** Current time in milliseconds, for the cache. @default Date.now */
  now?: () => number;
}

/** Every reference that must be fetched per invocation: the sources' secrets and the SecMaster credentials. */
export function remoteSecretReferences(auth: AuthSettings, secmaster: SecMasterCredentials | undefined): SecretReference[] {
  const references = new Map<string, SecretReference>();
  for (const source of Object.values(auth.sources)) {
    for (const reference of source.secrets) if (reference.kind !== "value") references.set(reference.label, reference);
  }
  for (const value of secmasterValues(secmaster)) {
    const reference = parseSecretReference(value, {});
    if (typeof reference !== "string" && reference.kind !== "value") references.set(reference.label, reference);
  }
  return [...references.values()];
}

function secmasterValues(credentials: SecMasterCredentials | undefined): string[] {
  if (credentials === undefined) return [];
  if (credentials.kind === "token") return [credentials.token];
  return [credentials.accessKey, credentials.secretKey, ...(credentials.securityToken === undefined ? [] : [credentials.securityToken])];
}

const valuesByEvent = new WeakMap<object, SecretValues>();
let latestValues: SecretValues = new Map();

/** Returns the secret values fetched for this invocation's event (empty when none were configured). */
export function secretValuesOf(event: object): SecretValues {
  return valuesByEvent.get(event) ?? latestValues;
}

/** Returns the values of the most recent invocation, for objects built outside a request (the SecMaster client). */
export function latestSecretValues(): SecretValues {
  return latestValues;
}

/**
 * Time after the TTL during which values fetched earlier are still used while SSM or Secrets
 * Manager fails transiently, so a short throttling or outage does not reject every delivery.
 */
const STALE_GRACE_MS = 120_000;

/** Wait between refresh attempts while values fetched earlier are used, which also limits the warnings. */
const STALE_RETRY_MS = 10_000;

interface CachedSecrets {
  values: SecretValues;
  refreshAtMs: number;
  /** End of the grace period: a refresh that fails after it rejects the invocation. */
  staleUntilMs: number;
}

/**
 * Middy middleware that fetches every `ssm:` and `secretsmanager:` secret on the first invocation
 * and again once `BRIDGE_SECRETS_TTL_SECONDS` has passed, so a rotated secret is used within that
 * time without a deploy. Values are stored for {@link secretValuesOf}. Concurrent invocations
 * share one refresh.
 *
 * When a refresh fails with throttling, a 5xx response, a timeout or a network error, the values
 * fetched earlier stay in use for up to 120 s after the TTL, with a warning and another attempt
 * every 10 s. Other failures, such as a denied or deleted parameter, reject at once.
 *
 * @throws BridgeError `BRIDGE.SECRETS_UNAVAILABLE` (503) when a secret cannot be fetched; the
 *   sender retries, and the message and log name the reference, never a value.
 */
export function loadSecrets(options: LoadSecretsOptions): middy.MiddlewareObj {
  const now = options.now ?? Date.now;
  const makeClient = options.clientOf ?? ((service: AwsJsonService) => new AwsJsonClient({ service }));
  const clients = new Map<AwsJsonService, AwsJsonClient>();
  const clientOf: AwsClientFactory = (service) => {
    let client = clients.get(service);
    if (client === undefined) {
      client = makeClient(service);
      clients.set(service, client);
    }
    return client;
  };

  let plan: { references: SecretReference[]; ttlMs: number } | undefined;
  let cached: CachedSecrets | undefined;
  let refreshing: Promise<SecretValues> | undefined;

  const refresh = async (references: SecretReference[], ttlMs: number): Promise<SecretValues> => {
    try {
      const values = await fetchSecretValues(references, clientOf);
      const fetchedAtMs = now();
      cached = { values, refreshAtMs: fetchedAtMs + ttlMs, staleUntilMs: fetchedAtMs + ttlMs + STALE_GRACE_MS };
      return values;
    } catch (error) {
      if (!(error instanceof SecretFetchError)) throw error;
      const failedAtMs = now();
      if (error.transient && cached !== undefined && failedAtMs < cached.staleUntilMs) {
        cached.refreshAtMs = Math.min(failedAtMs + STALE_RETRY_MS, cached.staleUntilMs);
        logger.warn("failed to refresh secrets; using the values fetched earlier", {
          references: error.references.map((reference) => reference.label),
          error: error.reason,
          staleUntil: new Date(cached.staleUntilMs).toISOString(),
        });
        return cached.values;
      }
      throw secretsUnavailable(error);
    }
  };

  const currentValues = (references: SecretReference[], ttlMs: number): Promise<SecretValues> => {
    if (cached !== undefined && now() < cached.refreshAtMs) return Promise.resolve(cached.values);
    refreshing ??= refresh(references, ttlMs).finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  return {
    before: async (request) => {
      if (plan === undefined) {
        const auth = options.authOf();
        plan = { references: remoteSecretReferences(auth, options.secmasterOf?.()), ttlMs: auth.secretsTtlSeconds * 1000 };
      }
      if (plan.references.length === 0) return;

      const values = await currentValues(plan.references, plan.ttlMs);
      valuesByEvent.set(request.event as object, values);
      latestValues = values;
    },
  };
}

// The message reaches the sender, so the AWS error, which may name the role and resource ARNs, is only logged.
function secretsUnavailable(error: SecretFetchError): BridgeError {
  const labels = error.references.map((reference) => reference.label);
  logger.error("failed to fetch a secret", { references: labels, error: error.reason });
  return new BridgeError("BRIDGE.SECRETS_UNAVAILABLE", `failed to fetch secret ${labels.join(", ")}`, { statusCode: 503, cause: error });
}

/** Returns every secret value of a source's references: values read at start plus those fetched for this invocation. */
export function resolveSecrets(references: readonly SecretReference[], values: SecretValues): string[] {
  return references.flatMap((reference) => (reference.kind === "value" ? reference.values : (values.get(reference.label) ?? [])));
}

/**
 * Replaces `ssm:` and `secretsmanager:` references in the SecMaster credentials with their
 * fetched values (the first line of each). Plain values are kept.
 *
 * @throws BridgeError `BRIDGE.SECRETS_UNAVAILABLE` (503) when a reference was not fetched, which
 *   means the calling handler does not use {@link loadSecrets}; signing with the reference text
 *   would only produce SecMaster 401 responses.
 */
export function resolveSecMasterCredentials(credentials: SecMasterCredentials, values: SecretValues): SecMasterCredentials {
  const resolve = (value: string): string => {
    const reference = parseSecretReference(value, {});
    if (typeof reference === "string" || reference.kind === "value") return value;
    const fetched = values.get(reference.label)?.[0];
    if (fetched === undefined) {
      throw new BridgeError("BRIDGE.SECRETS_UNAVAILABLE", `SecMaster credential ${reference.label} was not fetched; add the loadSecrets middleware to this handler`, {
        statusCode: 503,
      });
    }
    return fetched;
  };
  if (credentials.kind === "token") return { kind: "token", token: resolve(credentials.token) };
  return {
    kind: "aksk",
    accessKey: resolve(credentials.accessKey),
    secretKey: resolve(credentials.secretKey),
    ...(credentials.securityToken === undefined ? {} : { securityToken: resolve(credentials.securityToken) }),
  };
}

/** Returns true when two credential sets are equal, so a runtime is rebuilt only after a rotation. */
export function sameCredentials(left: SecMasterCredentials, right: SecMasterCredentials): boolean {
  return JSON.stringify(left) === JSON.stringify(right);
}
