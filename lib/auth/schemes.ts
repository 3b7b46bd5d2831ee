import { Buffer } from "node:buffer";
import { hmacMatchesAny, matchesAnySecret } from "./compare";
import { headerValue, type HeaderMap } from "./headers";
import { AuthenticationError } from "./rejections";
import type { HmacSettings, SourceAuthSettings } from "./settings";

/** The parts of a request the header-based schemes read; the body is the raw bytes as sent. */
export interface RawRequest {
  headers: HeaderMap;
  /** Query string parameters; the path-token scheme reads `token`. */
  query: Readonly<Record<string, string | undefined>> | undefined;
  body: Buffer;
}

/** Name of the query parameter holding a path token: `POST /v1/alerts/splunk?token=…`. */
export const PATH_TOKEN_PARAMETER = "token";

/**
 * Checks a bearer token, Basic credentials, a path token or an HMAC signature against the
 * source's secrets. Schemes that sign the parsed message (sns, smn) and `none` pass here.
 *
 * @throws AuthenticationError (401) with the failed check as `reason`.
 */
export function verifyRawRequest(settings: SourceAuthSettings, request: RawRequest, secrets: readonly string[], nowMs: number): void {
  switch (settings.scheme) {
    case "bearer":
      verifyToken(tokenOf(request.headers, settings.tokenHeader), secrets);
      return;
    case "basic":
      verifyToken(basicCredentialsOf(request.headers), secrets);
      return;
    case "path-token":
      verifyToken(request.query?.[PATH_TOKEN_PARAMETER], secrets);
      return;
    case "hmac":
    case "grafana-hmac":
      verifyHmac(settings.hmac!, request, secrets, nowMs);
      return;
    case "none":
    case "sns":
    case "smn":
      return;
  }
}

function verifyToken(candidate: string | undefined, secrets: readonly string[]): void {
  if (candidate === undefined || candidate === "") throw new AuthenticationError("credentials-missing");
  // An empty secret list (a fetched secret that is blank) matches nothing.
  if (!matchesAnySecret(candidate, secrets)) throw new AuthenticationError("credentials-mismatch");
}

function tokenOf(headers: HeaderMap, header: string): string | undefined {
  const value = headerValue(headers, header)?.trim();
  if (value === undefined || header !== "authorization") return value;
  const match = /^Bearer\s+(\S+)$/i.exec(value);
  return match === null ? undefined : match[1];
}

function basicCredentialsOf(headers: HeaderMap): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i.exec(headerValue(headers, "authorization")?.trim() ?? "");
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  return decoded.includes(":") ? decoded : undefined;
}

/**
 * Verifies an HMAC-SHA256 signature over the raw body, or over `<timestamp>:<body>` or
 * `<timestamp>.<body>`, and that the timestamp (Unix seconds) lies within `maxAgeSeconds` of now
 * in either direction. An optional `sha256=` prefix on the signature is accepted.
 */
export function verifyHmac(settings: HmacSettings, request: RawRequest, keys: readonly string[], nowMs: number): void {
  const signatureText = headerValue(request.headers, settings.signatureHeader)?.trim();
  if (signatureText === undefined || signatureText === "") throw new AuthenticationError("signature-missing");
  const signature = decodeSignature(signatureText.replace(/^sha256=/i, ""), settings.encoding);
  if (signature === undefined) throw new AuthenticationError("signature-malformed");

  let content: Buffer = request.body;
  if (settings.timestampHeader !== undefined) {
    const timestamp = headerValue(request.headers, settings.timestampHeader)?.trim();
    if (timestamp === undefined || timestamp === "") throw new AuthenticationError("timestamp-missing");
    if (!/^\d{1,12}$/.test(timestamp)) throw new AuthenticationError("timestamp-invalid");
    if (Math.abs(nowMs / 1000 - Number(timestamp)) > settings.maxAgeSeconds) throw new AuthenticationError("timestamp-outside-window");
    if (settings.signedContent !== "body") {
      const separator = settings.signedContent === "timestamp:body" ? ":" : ".";
      content = Buffer.concat([Buffer.from(`${timestamp}${separator}`, "utf8"), request.body]);
    }
  }
  if (!hmacMatchesAny(content, signature, keys)) throw new AuthenticationError("signature-mismatch");
}

function decodeSignature(text: string, encoding: "hex" | "base64"): Buffer | undefined {
  if (encoding === "hex") return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : undefined;
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}
