import * as z from "zod";
import { isNearMiss } from "../edit-distance";
import { parseHostPattern, type HostPattern } from "./hosts";
import { parseIpAllowList, type IpAllowList } from "./ip";

/** Scheme a source uses to prove who sent a request. */
export const AUTH_SCHEMES = ["none", "bearer", "basic", "path-token", "hmac", "grafana-hmac", "sns", "smn"] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

/** Content an HMAC signature covers. */
export const SIGNED_CONTENTS = ["body", "timestamp:body", "timestamp.body"] as const;
export type SignedContent = (typeof SIGNED_CONTENTS)[number];

/**
 * Source of a secret. A `value` secret was read from another environment variable (`env:NAME`)
 * at start. An `ssm` or `secretsmanager` secret is fetched by the `loadSecrets` middleware and
 * cached for `BRIDGE_SECRETS_TTL_SECONDS`.
 */
export type SecretReference =
  | { kind: "value"; values: readonly string[]; label: string }
  | { kind: "ssm"; name: string; label: string }
  | { kind: "secretsmanager"; secretId: string; jsonKey: string | undefined; label: string };

/** HMAC signature settings of the `hmac` and `grafana-hmac` schemes. */
export interface HmacSettings {
  signatureHeader: string;
  /** Header holding the Unix time in seconds; when set, it is required and checked against `maxAgeSeconds`. */
  timestampHeader: string | undefined;
  signedContent: SignedContent;
  encoding: "hex" | "base64";
  maxAgeSeconds: number;
}

/** The authentication of one source, from the `BRIDGE_AUTH_<SOURCE>*` variables. */
export interface SourceAuthSettings {
  /** Source id in upper case with `_` for other characters, as in the variable names (`HUAWEICLOUD_CES`). */
  sourceKey: string;
  scheme: AuthScheme;
  secrets: SecretReference[];
  /** Header carrying the bearer token; `authorization` expects the `Bearer ` prefix. */
  tokenHeader: string;
  hmac: HmacSettings | undefined;
  /** Allowed SNS topic ARNs or SMN topic URNs. */
  topics: string[];
  autoConfirm: boolean;
  certificateHosts: HostPattern[];
  confirmHosts: HostPattern[];
  allowedIps: IpAllowList | undefined;
}

/** Inbound authentication settings of the whole bridge. */
export interface AuthSettings {
  sources: Record<string, SourceAuthSettings>;
  /** Reject sources without `BRIDGE_AUTH_<SOURCE>`; true on Lambda, where it cannot be turned off. */
  requireAuth: boolean;
  secretsTtlSeconds: number;
}

/** Prefix of every per-source authentication variable. */
export const AUTH_PREFIX = "BRIDGE_AUTH_";

/** Suffixes of the per-source options, longest first so `_SIGNATURE_HEADER` wins over `_HEADER`. */
const OPTION_SUFFIXES = [
  "SIGNATURE_ENCODING",
  "SIGNATURE_HEADER",
  "TIMESTAMP_HEADER",
  "MAX_AGE_SECONDS",
  "SIGNED_CONTENT",
  "CONFIRM_HOSTS",
  "AUTO_CONFIRM",
  "ALLOWED_IPS",
  "CERT_HOSTS",
  "SECRETS",
  "HEADER",
  "TOPICS",
] as const;
type OptionSuffix = (typeof OPTION_SUFFIXES)[number];

/** Default certificate hosts: SNS signs from `sns.<region>.amazonaws.com(.cn)`, SMN from `smn.<region>.myhuaweicloud.com`. */
export const DEFAULT_CERTIFICATE_HOSTS: Readonly<Record<"sns" | "smn", readonly string[]>> = {
  sns: ["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"],
  smn: ["smn.*.myhuaweicloud.com"],
};

/** Default hosts a subscription confirmation may be sent to. SMN confirmation links point at the console. */
export const DEFAULT_CONFIRM_HOSTS: Readonly<Record<"sns" | "smn", readonly string[]>> = {
  sns: ["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"],
  smn: ["console.huaweicloud.com", "console-intl.huaweicloud.com", "smn.*.myhuaweicloud.com"],
};

const HMAC_DEFAULTS: Readonly<Record<"hmac" | "grafana-hmac", { signatureHeader: string; timestampHeader: string | undefined }>> = {
  // Grafana's documentation names this header; some Grafana versions send X-Grafana-Alert-Signature,
  // which BRIDGE_AUTH_<SOURCE>_SIGNATURE_HEADER selects.
  "grafana-hmac": { signatureHeader: "X-Grafana-Alerting-Signature", timestampHeader: undefined },
  hmac: { signatureHeader: "X-Signature", timestampHeader: "X-Signature-Timestamp" },
};

const SCHEMES_WITH_SECRETS: ReadonlySet<AuthScheme> = new Set(["bearer", "basic", "path-token", "hmac", "grafana-hmac"]);
const HMAC_SCHEMES: ReadonlySet<AuthScheme> = new Set(["hmac", "grafana-hmac"]);
const MESSAGE_SCHEMES: ReadonlySet<AuthScheme> = new Set(["sns", "smn"]);

/** Schemes each option applies to. Setting an option for another scheme is reported as a mistake. */
const OPTION_SCHEMES: Readonly<Record<OptionSuffix, ReadonlySet<AuthScheme> | "all">> = {
  SECRETS: SCHEMES_WITH_SECRETS,
  HEADER: new Set(["bearer"]),
  SIGNATURE_HEADER: HMAC_SCHEMES,
  TIMESTAMP_HEADER: HMAC_SCHEMES,
  SIGNED_CONTENT: HMAC_SCHEMES,
  SIGNATURE_ENCODING: HMAC_SCHEMES,
  MAX_AGE_SECONDS: HMAC_SCHEMES,
  TOPICS: MESSAGE_SCHEMES,
  AUTO_CONFIRM: MESSAGE_SCHEMES,
  CERT_HOSTS: MESSAGE_SCHEMES,
  CONFIRM_HOSTS: MESSAGE_SCHEMES,
  ALLOWED_IPS: "all",
};

const list = (text: string | undefined): string[] =>
  (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

// Built on the first source with settings: functions other than ingest never parse one.
let rawOptionsSchema: ReturnType<typeof buildRawOptionsSchema> | undefined;

function buildRawOptionsSchema() {
  return z.object({
    scheme: z.enum(AUTH_SCHEMES, { error: `must be one of ${AUTH_SCHEMES.join(", ")}` }),
    SECRETS: z.string().optional(),
    HEADER: z.string().regex(HEADER_NAME, "must be an HTTP header name").optional(),
    SIGNATURE_HEADER: z.string().regex(HEADER_NAME, "must be an HTTP header name").optional(),
    TIMESTAMP_HEADER: z.string().regex(HEADER_NAME, "must be an HTTP header name").optional(),
    SIGNED_CONTENT: z.enum(SIGNED_CONTENTS, { error: `must be one of ${SIGNED_CONTENTS.join(", ")}` }).optional(),
    SIGNATURE_ENCODING: z.enum(["hex", "base64"], { error: "must be hex or base64" }).optional(),
    MAX_AGE_SECONDS: z
      .string()
      .regex(/^-?\d+$/, "must be a whole number of seconds")
      .transform(Number)
      .refine((value) => value > 0 && value <= 86_400, "must be between 1 and 86400")
      .optional(),
    TOPICS: z.string().optional(),
    AUTO_CONFIRM: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
    CERT_HOSTS: z.string().optional(),
    CONFIRM_HOSTS: z.string().optional(),
    ALLOWED_IPS: z.string().optional(),
  });
}

/**
 * Parses the `BRIDGE_AUTH_<SOURCE>` variables into per-source settings, pushing every problem
 * onto `issues` with the variable it concerns. Secret values never appear in an issue.
 *
 * `<SOURCE>` is the source id in upper case with `-` replaced by `_`; {@link checkAuthSources}
 * matches it against the sources that exist once generic mappings are loaded.
 */
export function parseAuthSettings(
  env: Readonly<Record<string, string | undefined>>,
  general: { requireAuth: boolean; secretsTtlSeconds: number },
  issues: string[],
): AuthSettings {
  const grouped = new Map<string, Record<string, string>>();
  for (const [name, value] of Object.entries(env)) {
    const variable = readAuthVariable(name, value);
    if (variable === undefined) continue;
    if ("issue" in variable) {
      issues.push(variable.issue);
      continue;
    }
    const options = grouped.get(variable.sourceKey) ?? {};
    options[variable.option] = variable.value;
    grouped.set(variable.sourceKey, options);
  }

  const sources: Record<string, SourceAuthSettings> = {};
  for (const [sourceKey, options] of [...grouped].sort(([a], [b]) => a.localeCompare(b))) {
    const parsed = parseSource(sourceKey, options, env, issues);
    if (parsed !== undefined) sources[sourceKey] = parsed;
  }
  return { sources, ...general };
}

/** One `BRIDGE_AUTH_` variable split into its source key and option, or the problem with its name. */
type AuthVariable = { sourceKey: string; option: string; value: string } | { issue: string };

// Returns undefined for a variable that is not a set BRIDGE_AUTH_ variable.
function readAuthVariable(name: string, value: string | undefined): AuthVariable | undefined {
  if (!name.startsWith(AUTH_PREFIX) || value === undefined || value.trim() === "") return undefined;
  const rest = name.slice(AUTH_PREFIX.length);
  const suffix = OPTION_SUFFIXES.find((option) => rest.endsWith(`_${option}`) && rest.length > option.length + 1);
  const likelyOption = suffix === undefined ? misspeltOption(rest, value) : undefined;
  if (likelyOption !== undefined) return { issue: `${name}: unknown setting; did you mean ${AUTH_PREFIX}${likelyOption}?` };
  const sourceKey = suffix === undefined ? rest : rest.slice(0, -(suffix.length + 1));
  if (!/^[A-Z0-9_]+$/.test(sourceKey)) {
    return { issue: `${name}: source part must be the source id in upper case with _ for -, such as BRIDGE_AUTH_HUAWEICLOUD_CES` };
  }
  return { sourceKey, option: suffix ?? "scheme", value: value.trim() };
}

/**
 * Lists the source keys that `BRIDGE_AUTH_` variables name, including those whose settings are
 * invalid, so that a misspelt source id is reported together with the other settings problems.
 */
export function authSourceKeys(env: Readonly<Record<string, string | undefined>>): string[] {
  const keys = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    const variable = readAuthVariable(name, value);
    if (variable !== undefined && !("issue" in variable)) keys.add(variable.sourceKey);
  }
  return [...keys].sort();
}

/**
 * Returns `<SOURCE>_<OPTION>` when a name without an option suffix ends in a near-miss of one,
 * such as `CLOUDWATCH_TOPIC` for `CLOUDWATCH_TOPICS`. Such a name would otherwise be read as the
 * scheme of a source called `cloudwatch-topic`. A value that is a scheme name keeps that reading,
 * because then the name most likely is the scheme setting of a source with such an id.
 */
function misspeltOption(rest: string, value: string): string | undefined {
  if ((AUTH_SCHEMES as readonly string[]).includes(value.trim())) return undefined;
  const parts = rest.split("_");
  // Options have one to three parts (TOPICS, ALLOWED_IPS, MAX_AGE_SECONDS), and a source part must remain.
  for (let optionParts = 1; optionParts <= 3 && optionParts < parts.length; optionParts += 1) {
    const written = parts.slice(-optionParts).join("_");
    const option = OPTION_SUFFIXES.find((candidate) => isNearMiss(written, candidate));
    if (option !== undefined) return `${parts.slice(0, -optionParts).join("_")}_${option}`;
  }
  return undefined;
}

function parseSource(
  sourceKey: string,
  options: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  issues: string[],
): SourceAuthSettings | undefined {
  const variable = (suffix?: string) => `${AUTH_PREFIX}${sourceKey}${suffix === undefined ? "" : `_${suffix}`}`;
  if (options.scheme === undefined) {
    for (const suffix of Object.keys(options)) {
      issues.push(`${variable(suffix)}: set ${variable()} to the scheme (${AUTH_SCHEMES.join(", ")}) as well`);
    }
    return undefined;
  }
  rawOptionsSchema ??= buildRawOptionsSchema();
  const parsed = rawOptionsSchema.safeParse(options);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "scheme");
      issues.push(`${variable(key === "scheme" ? undefined : key)}: ${issue.message}`);
    }
    return undefined;
  }
  const raw = parsed.data;
  const scheme = raw.scheme;
  const before = issues.length;

  for (const suffix of OPTION_SUFFIXES) {
    const allowed = OPTION_SCHEMES[suffix];
    if (raw[suffix] !== undefined && allowed !== "all" && !allowed.has(scheme)) {
      issues.push(`${variable(suffix)}: does not apply to the ${scheme} scheme; remove it`);
    }
  }

  const secrets = list(raw.SECRETS).flatMap((text) => {
    const reference = parseSecretReference(text, env);
    if (typeof reference === "string") {
      issues.push(`${variable("SECRETS")}: ${reference}`);
      return [];
    }
    return [reference];
  });
  if (SCHEMES_WITH_SECRETS.has(scheme) && raw.SECRETS === undefined) {
    issues.push(`${variable("SECRETS")}: the ${scheme} scheme needs at least one secret reference, such as env:NAME or ssm:/parameter/name`);
  }
  if (scheme === "basic") {
    for (const reference of secrets) {
      if (reference.kind === "value" && reference.values.some((value) => !value.includes(":"))) {
        issues.push(`${variable("SECRETS")}: ${reference.label} must contain user:password pairs`);
      }
    }
  }

  const topics = list(raw.TOPICS);
  if (MESSAGE_SCHEMES.has(scheme) && topics.length === 0) {
    issues.push(`${variable("TOPICS")}: the ${scheme} scheme needs the allowed topic ${scheme === "sns" ? "ARNs" : "URNs"}, comma-separated`);
  }

  const hostPatterns = (suffix: "CERT_HOSTS" | "CONFIRM_HOSTS", defaults: readonly string[]): HostPattern[] =>
    (raw[suffix] === undefined ? [...defaults] : list(raw[suffix])).flatMap((text) => {
      const pattern = parseHostPattern(text);
      if (pattern === undefined) {
        issues.push(`${variable(suffix)}: ${JSON.stringify(text)} is not a host pattern such as sns.*.amazonaws.com or 127.0.0.1:8443`);
        return [];
      }
      return [pattern];
    });
  const messageScheme = scheme === "sns" || scheme === "smn" ? scheme : undefined;
  const certificateHosts = messageScheme === undefined ? [] : hostPatterns("CERT_HOSTS", DEFAULT_CERTIFICATE_HOSTS[messageScheme]);
  const confirmHosts = messageScheme === undefined ? [] : hostPatterns("CONFIRM_HOSTS", DEFAULT_CONFIRM_HOSTS[messageScheme]);

  let allowedIps: IpAllowList | undefined;
  if (raw.ALLOWED_IPS !== undefined) {
    const parsedIps = parseIpAllowList(list(raw.ALLOWED_IPS));
    if ("invalid" in parsedIps) issues.push(`${variable("ALLOWED_IPS")}: not CIDR blocks: ${parsedIps.invalid.join(", ")}`);
    else allowedIps = parsedIps;
  }

  let hmac: HmacSettings | undefined;
  if (scheme === "hmac" || scheme === "grafana-hmac") {
    const defaults = HMAC_DEFAULTS[scheme];
    const timestampHeader = raw.TIMESTAMP_HEADER ?? defaults.timestampHeader;
    const signedContent = raw.SIGNED_CONTENT ?? (timestampHeader === undefined ? "body" : "timestamp:body");
    if (signedContent !== "body" && timestampHeader === undefined) {
      issues.push(`${variable("SIGNED_CONTENT")}: ${signedContent} needs ${variable("TIMESTAMP_HEADER")}`);
    }
    // An unsigned timestamp could be replaced by anyone replaying the request, so the window would mean nothing.
    if (signedContent === "body" && timestampHeader !== undefined) {
      issues.push(`${variable("SIGNED_CONTENT")}: body leaves the timestamp header unsigned; use timestamp:body or timestamp.body`);
    }
    hmac = {
      signatureHeader: raw.SIGNATURE_HEADER ?? defaults.signatureHeader,
      timestampHeader,
      signedContent,
      encoding: raw.SIGNATURE_ENCODING ?? "hex",
      maxAgeSeconds: raw.MAX_AGE_SECONDS ?? 300,
    };
  }

  if (issues.length > before) return undefined;
  return {
    sourceKey,
    scheme,
    secrets,
    tokenHeader: (raw.HEADER ?? "authorization").toLowerCase(),
    hmac,
    topics,
    autoConfirm: raw.AUTO_CONFIRM === "true",
    certificateHosts,
    confirmHosts,
    allowedIps,
  };
}

/**
 * Parses one secret reference: `env:NAME` (read now from `env`), `ssm:/parameter/name`,
 * `secretsmanager:secret-id` or `secretsmanager:secret-id#jsonKey`. Returns an error text
 * (never containing a secret) when the reference is invalid.
 */
export function parseSecretReference(text: string, env: Readonly<Record<string, string | undefined>>): SecretReference | string {
  const separator = text.indexOf(":");
  const kind = separator < 0 ? "" : text.slice(0, separator);
  const target = text.slice(separator + 1).trim();
  if (target === "") return `${JSON.stringify(kind)} reference needs a name after the colon`;
  switch (kind) {
    case "env": {
      const value = env[target];
      if (value === undefined || value.trim() === "") return `env:${target} names an unset environment variable`;
      return { kind: "value", values: splitSecretValue(value), label: `env:${target}` };
    }
    case "ssm":
      return { kind: "ssm", name: target, label: `ssm:${target}` };
    case "secretsmanager": {
      const hash = target.indexOf("#");
      const secretId = hash < 0 ? target : target.slice(0, hash);
      const jsonKey = hash < 0 ? undefined : target.slice(hash + 1);
      if (secretId === "" || jsonKey === "") return `secretsmanager:${target} needs a secret id, and a key after #`;
      return { kind: "secretsmanager", secretId, jsonKey, label: `secretsmanager:${target}` };
    }
    default:
      return "a secret must be a reference (env:NAME, ssm:/name or secretsmanager:id[#key]), never the secret itself";
  }
}

/**
 * Splits a stored secret into its values: one per non-empty line, so a parameter can hold the
 * new and the previous secret while senders are rotated.
 */
export function splitSecretValue(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Returns the key used in variable names for a source id: `huaweicloud-ces` → `HUAWEICLOUD_CES`. */
export function sourceKeyOf(sourceId: string): string {
  return sourceId.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** Lists the settings whose source key names no known source, as configuration issues. */
export function checkAuthSources(settings: AuthSettings, sourceIds: readonly string[]): string[] {
  return unknownAuthSources(Object.keys(settings.sources), sourceIds);
}

/** Lists the source keys that name no known source, as configuration issues. */
export function unknownAuthSources(sourceKeys: readonly string[], sourceIds: readonly string[]): string[] {
  const known = new Set(sourceIds.map(sourceKeyOf));
  return sourceKeys
    .filter((key) => !known.has(key))
    .map((key) => `${AUTH_PREFIX}${key}: no source has the id ${key.toLowerCase().replace(/_/g, "-")}; check the spelling against the README's source list`);
}
