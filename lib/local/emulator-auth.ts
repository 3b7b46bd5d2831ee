import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import {
  computeSignature,
  parseAuthorization,
  payloadHash,
  sdkDateForStringToSign,
  type QueryParams,
} from "../secmaster/signer";

/** Parts of a received request that authentication reads. */
export interface ReceivedRequest {
  method: string;
  /** Path exactly as received, still percent-encoded. */
  rawPath: string;
  /** Query string as received, without the `?`; empty when there is none. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  /** Body bytes as received. */
  body: Buffer;
}

export interface AuthSettings {
  credentials: readonly { accessKey: string; secretKey: string }[];
  authTokens: readonly string[];
  maxClockSkewMs: number;
  now: () => Date;
}

/** Result of {@link authenticate}: `reason` completes "Incorrect IAM authentication information: …". */
export type AuthResult = { ok: true } | { ok: false; reason: string };

/**
 * Checks `X-Auth-Token` or an `SDK-HMAC-SHA256` signature the way the Huawei Cloud API gateway
 * does. A token header, when present, decides alone.
 */
export function authenticate(request: ReceivedRequest, settings: AuthSettings): AuthResult {
  const token = headerValue(request.headers, "x-auth-token");
  if (token !== undefined) {
    return settings.authTokens.includes(token) ? { ok: true } : { ok: false, reason: "the X-Auth-Token is not valid" };
  }

  const authorization = headerValue(request.headers, "authorization");
  if (authorization === undefined) {
    return { ok: false, reason: "the request has neither an X-Auth-Token nor an Authorization header" };
  }
  return verifySignature(request, authorization, settings);
}

function verifySignature(request: ReceivedRequest, authorization: string, settings: AuthSettings): AuthResult {
  const parsed = parseAuthorization(authorization);
  if (parsed === undefined) {
    return { ok: false, reason: "the Authorization header is not a valid SDK-HMAC-SHA256 header" };
  }

  const credential = settings.credentials.find((candidate) => candidate.accessKey === parsed.accessKey);
  if (credential === undefined) return { ok: false, reason: `access key ${parsed.accessKey} is unknown` };

  // The official Node SDK always signs host and x-sdk-date. The Go SDK leaves host out, so
  // this check rejects Go-signed requests; the bridge signs the Node way.
  for (const required of ["host", "x-sdk-date"]) {
    if (!parsed.signedHeaders.includes(required)) {
      return { ok: false, reason: `SignedHeaders does not include ${required}` };
    }
  }

  const signedHeaders: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) return { ok: false, reason: `signed header ${name} is missing from the request` };
    signedHeaders[name] = value;
  }

  const dateCheck = checkSdkDate(signedHeaders["x-sdk-date"]!, settings);
  if (dateCheck !== undefined) return { ok: false, reason: dateCheck };

  // computeSignature trusts a signed X-Sdk-Content-Sha256 literally, so a value other than
  // UNSIGNED-PAYLOAD must be the real hash, or a tampered body would pass.
  const declaredHash = signedHeaders["x-sdk-content-sha256"];
  if (declaredHash !== undefined && declaredHash !== "UNSIGNED-PAYLOAD" && declaredHash !== payloadHash(request.body)) {
    return { ok: false, reason: "X-Sdk-Content-Sha256 does not match the body" };
  }

  const decodedPath = decodePath(request.rawPath);
  const query = parseQuery(request.rawQuery);
  if (decodedPath === undefined || query === undefined) {
    return { ok: false, reason: "the request path or query has invalid percent-encoding" };
  }

  const expected = computeSignature(
    {
      method: request.method,
      // Only the path of this URL reaches the canonical request; the signed host header is used as sent.
      url: `http://emulator.invalid${decodedPath}`,
      query,
      headers: signedHeaders,
      body: request.body,
    },
    credential.secretKey,
    parsed.signedHeaders,
  ).signature;

  if (!timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(parsed.signature, "hex"))) {
    return { ok: false, reason: "the signature does not match; check the secret key and the signed bytes" };
  }
  return { ok: true };
}

// Returns why the X-Sdk-Date value is unusable, or undefined when it is within the allowed skew.
function checkSdkDate(value: string, settings: AuthSettings): string | undefined {
  let basic: string;
  try {
    basic = sdkDateForStringToSign(value);
  } catch {
    return `X-Sdk-Date ${JSON.stringify(value)} is not a valid date`;
  }

  const signedAtMs = Date.UTC(
    Number(basic.slice(0, 4)),
    Number(basic.slice(4, 6)) - 1,
    Number(basic.slice(6, 8)),
    Number(basic.slice(9, 11)),
    Number(basic.slice(11, 13)),
    Number(basic.slice(13, 15)),
  );
  const skewMs = Math.abs(settings.now().getTime() - signedAtMs);
  if (skewMs > settings.maxClockSkewMs) {
    const skewSeconds = Math.round(skewMs / 1000);
    return `X-Sdk-Date ${value} is ${skewSeconds} s away from the server time, more than the allowed ${settings.maxClockSkewMs / 1000} s`;
  }
  return undefined;
}

/**
 * Decodes each segment of a received path, so that the signer's canonicalization (which
 * re-escapes as the official Node SDK does) can run over the path the client signed.
 * Returns undefined for malformed percent-encoding.
 */
export function decodePath(rawPath: string): string | undefined {
  try {
    return rawPath.split("/").map(decodeURIComponent).join("/");
  } catch {
    return undefined;
  }
}

/**
 * Parses a received query string into signer query parameters; repeated keys become arrays.
 * A `+` means a space, as form encoding and Go's `url.Values` write it; the Node SDK writes
 * `%2B` for a plus sign. Returns undefined for malformed percent-encoding.
 */
export function parseQuery(rawQuery: string): Record<string, string | string[]> | undefined {
  const query: Record<string, string | string[]> = {};
  if (rawQuery === "") return query;

  try {
    for (const pair of rawQuery.split("&")) {
      if (pair === "") continue;
      const separator = pair.indexOf("=");
      const rawKey = separator < 0 ? pair : pair.slice(0, separator);
      const rawValue = separator < 0 ? "" : pair.slice(separator + 1);
      const key = decodeURIComponent(rawKey.replaceAll("+", " "));
      const value = decodeURIComponent(rawValue.replaceAll("+", " "));

      const existing = query[key];
      if (existing === undefined) query[key] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else query[key] = [existing, value];
    }
  } catch {
    return undefined;
  }
  return query satisfies QueryParams;
}

/** Returns a header as one string; Node joins most repeated headers with ", " already. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : value;
}
