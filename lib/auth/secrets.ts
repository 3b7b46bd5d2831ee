import type middy from "@middy/core";
import secretsManager from "@middy/secrets-manager";
import ssm from "@middy/ssm";
import { getInternal } from "@middy/util";
import type { SecMasterCredentials } from "../config";
import { BridgeError } from "../errors";
import { logger } from "../logger";
import { parseSecretReference, splitSecretValue, type AuthSettings, type SecretReference } from "./settings";

/** Secret values fetched from SSM Parameter Store and Secrets Manager, by reference label (`ssm:/name`). */
export type SecretValues = ReadonlyMap<string, readonly string[]>;

/** AWS SDK client settings for the secret middlewares; tests pass their own client classes. */
export interface SecretClients {
  /** Client class for `@middy/ssm`. @default SSMClient */
  ssmClient?: unknown;
  /** Client class for `@middy/secrets-manager`. @default SecretsManagerClient */
  secretsManagerClient?: unknown;
}

/** Options of {@link loadSecrets}. */
export interface LoadSecretsOptions extends SecretClients {
  /** Settings with the references to fetch; read on the first invocation. */
  authOf: () => AuthSettings;
  /** SecMaster credentials, whose `ssm:` and `secretsmanager:` values are fetched too. */
  secmasterOf?: () => SecMasterCredentials;
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
 * Middy middleware that fetches every `ssm:` and `secretsmanager:` secret through `@middy/ssm`
 * and `@middy/secrets-manager`, cached for `BRIDGE_SECRETS_TTL_SECONDS`, so a rotated secret is
 * used within that time without a deploy. Values are stored for {@link secretValuesOf}.
 *
 * @throws BridgeError `BRIDGE.SECRETS_UNAVAILABLE` (503) when a secret cannot be fetched; the
 *   sender retries, and the log names the reference, never a value.
 */
export function loadSecrets(options: LoadSecretsOptions): middy.MiddlewareObj {
  let fetchers: { middlewares: middy.MiddlewareObj[]; internalKeys: Map<string, SecretReference> } | undefined;

  const build = () => {
    const auth = options.authOf();
    const references = remoteSecretReferences(auth, options.secmasterOf?.());
    const internalKeys = new Map<string, SecretReference>();
    const ssmData: Record<string, string> = {};
    const secretsManagerData: Record<string, string> = {};
    for (const [index, reference] of references.entries()) {
      const key = `bridgeSecret${index}`;
      internalKeys.set(key, reference);
      if (reference.kind === "ssm") ssmData[key] = reference.name;
      else if (reference.kind === "secretsmanager") secretsManagerData[key] = reference.secretId;
    }
    const cacheExpiry = auth.secretsTtlSeconds * 1000;
    const middlewares: middy.MiddlewareObj[] = [];
    if (Object.keys(ssmData).length > 0) {
      middlewares.push(
        ssm({
          fetchData: ssmData,
          cacheKey: "secmaster-bridge-ssm",
          cacheExpiry,
          disablePrefetch: true,
          ...(options.ssmClient === undefined ? {} : { AwsClient: options.ssmClient as never }),
        }) as middy.MiddlewareObj,
      );
    }
    if (Object.keys(secretsManagerData).length > 0) {
      middlewares.push(
        secretsManager({
          fetchData: secretsManagerData,
          cacheKey: "secmaster-bridge-secrets-manager",
          cacheExpiry,
          disablePrefetch: true,
          ...(options.secretsManagerClient === undefined ? {} : { AwsClient: options.secretsManagerClient as never }),
        }) as middy.MiddlewareObj,
      );
    }
    return { middlewares, internalKeys };
  };

  return {
    before: async (request) => {
      fetchers ??= build();
      if (fetchers.internalKeys.size === 0) return;
      for (const middleware of fetchers.middlewares) await middleware.before?.(request);

      const values = new Map<string, readonly string[]>();
      for (const [key, reference] of fetchers.internalKeys) {
        let fetched: unknown;
        try {
          fetched = ((await getInternal([key], request)) as Record<string, unknown>)[key];
        } catch (error) {
          throw secretsUnavailable(reference, error);
        }
        const secrets = secretStrings(fetched, reference);
        if (secrets === undefined) throw secretsUnavailable(reference, undefined);
        values.set(reference.label, secrets);
      }
      valuesByEvent.set(request.event as object, values);
      latestValues = values;
    },
  };
}

function secretsUnavailable(reference: SecretReference, cause: unknown): BridgeError {
  logger.error("failed to fetch a secret", {
    reference: reference.label,
    error: cause instanceof Error ? { name: cause.name, message: cause.message } : "the stored value is empty or is JSON without the referenced key",
  });
  return new BridgeError("BRIDGE.SECRETS_UNAVAILABLE", `failed to fetch secret ${reference.label}`, { statusCode: 503, cause });
}

// SSM returns a string (or an array for StringList); Secrets Manager a string or parsed JSON.
function secretStrings(fetched: unknown, reference: SecretReference): string[] | undefined {
  let value = fetched;
  if (reference.kind === "secretsmanager" && reference.jsonKey !== undefined) {
    value = typeof value === "object" && value !== null && Object.hasOwn(value, reference.jsonKey) ? (value as Record<string, unknown>)[reference.jsonKey] : undefined;
  }
  const strings = typeof value === "string" ? splitSecretValue(value) : Array.isArray(value) ? value.filter((item): item is string => typeof item === "string").flatMap(splitSecretValue) : [];
  return strings.length === 0 ? undefined : strings;
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
