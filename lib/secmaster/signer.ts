import { createHmac, createSecretKey, hash, type KeyObject } from "node:crypto";

/** Algorithm name that opens the `Authorization` header and the string to sign. */
export const SIGNING_ALGORITHM = "SDK-HMAC-SHA256";

/** SHA-256 of the empty string, used as the payload hash of a request without a body. */
export const EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Query parameters as the Huawei Cloud SDK takes them: arrays become repeated keys. */
export type QueryParams = Record<string, string | number | boolean | readonly (string | number | boolean)[]>;

/** A request to sign. `body` is the exact byte string that will be sent, or undefined for none. */
export interface SignableRequest {
  method: string;
  /** Scheme, host, optional port and path, without a query string. */
  url: string;
  query?: QueryParams | undefined;
  /** Headers to sign. Every header given here is signed; add unsigned ones after signing. */
  headers: Record<string, string>;
  body?: string | Uint8Array | undefined;
}

export interface AccessKeyCredentials {
  accessKey: string;
  secretKey: string;
}

/** The parts of a signature, exposed so that the emulator can verify and tests can compare. */
export interface SignatureParts {
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;
const NOT_UNRESERVED = /[^A-Za-z0-9\-_.~]/;

// Characters that encodeURIComponent leaves as they are but RFC 3986 does not count as unreserved.
const SUB_DELIMS_KEPT_BY_ENCODE_URI = /[!'()*]/g;

/**
 * Percent-encodes every byte of the UTF-8 form except the RFC 3986 unreserved characters,
 * with upper-case hex, as the Huawei Cloud signer does for path segments and query parts.
 * A lone surrogate is encoded as U+FFFD.
 */
export function encodeRfc3986(value: string): string {
  if (!NOT_UNRESERVED.test(value)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    // encodeURIComponent throws URIError on a lone surrogate.
    return encodeByteByByte(value);
  }
  return encoded.replace(SUB_DELIMS_KEPT_BY_ENCODE_URI, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function encodeByteByByte(value: string): string {
  let out = "";
  for (const char of value) {
    if (UNRESERVED.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/**
 * Builds the canonical URI from a path exactly as Node's legacy `url.parse` would return it
 * (spaces and a few other characters already escaped), then encodes each segment again and
 * appends a trailing slash. The double encoding of `%` matches the official Node SDK.
 */
export function canonicalUri(pathname: string): string {
  const joined = PATH_OF_UNRESERVED_SEGMENTS.test(pathname)
    ? pathname
    : escapeLikeLegacyUrlParse(pathname).split("/").map(encodeRfc3986).join("/");
  return joined.endsWith("/") ? joined : `${joined}/`;
}

// A path that neither step changes, such as one made of UUID segments.
const PATH_OF_UNRESERVED_SEGMENTS = /^[A-Za-z0-9\-_.~/]*$/;

// Replacements that Node's legacy url.parse() makes in a path before the official signer reads
// it. It escapes most of these characters and turns a backslash into a slash (checked on Node 20.20).
const LEGACY_AUTO_ESCAPE: Record<string, string> = {
  " ": "%20",
  '"': "%22",
  "'": "%27",
  "<": "%3C",
  ">": "%3E",
  "\\": "/",
  "^": "%5E",
  "`": "%60",
  "{": "%7B",
  "|": "%7C",
  "}": "%7D",
  "\t": "%09",
  "\n": "%0A",
  "\r": "%0D",
};

const LEGACY_AUTO_ESCAPED_CHARS = /[ "'<>\\^`{|}\t\n\r]/g;

function escapeLikeLegacyUrlParse(pathname: string): string {
  return pathname.replace(LEGACY_AUTO_ESCAPED_CHARS, (char) => LEGACY_AUTO_ESCAPE[char]!);
}

/** Builds the canonical query string: keys sorted, arrays sorted and repeated, both sides encoded. */
export function canonicalQuery(query: QueryParams | undefined): string {
  if (query === undefined) return "";
  const pairs: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (value === undefined) continue;
    const encodedKey = encodeRfc3986(key);
    if (Array.isArray(value)) {
      const sorted = (value as readonly (string | number | boolean)[]).map(String).sort();
      for (const item of sorted) pairs.push(`${encodedKey}=${encodeRfc3986(item)}`);
    } else {
      pairs.push(`${encodedKey}=${encodeRfc3986(String(value))}`);
    }
  }
  return pairs.join("&");
}

/** Lower-hex SHA-256 of the body bytes, or of the empty string when there is no body. */
export function payloadHash(body: string | Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return EMPTY_BODY_SHA256;
  return hash("sha256", body, "hex");
}

/** Formats a date as the basic ISO 8601 form used by `X-Sdk-Date`: `YYYYMMDDTHHmmssZ`. */
export function formatSdkDate(date: Date): string {
  // The text changes once a second, and a client signs many requests in the same second.
  const second = Math.floor(date.getTime() / 1000);
  if (lastSdkDate?.second === second) return lastSdkDate.text;

  const iso = date.toISOString();
  // Years 0 to 9999 give the fixed layout `2026-01-15T08:30:00.000Z`. Slicing it is several times
  // faster than the regular expressions, which remain for the six-digit years outside that range.
  const text =
    iso.length === 24
      ? `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`
      : iso.replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  lastSdkDate = { second, text };
  return text;
}

let lastSdkDate: { second: number; text: string } | undefined;

/**
 * Normalizes an `X-Sdk-Date` header value for the string to sign. The basic form is kept. The
 * extended ISO 8601 form (`2026-01-15T08:30:00Z`) is accepted and rendered in the basic form,
 * because the official Node SDK does the same.
 */
export function sdkDateForStringToSign(headerValue: string): string {
  if (/^\d{8}T\d{6}Z$/.test(headerValue)) return headerValue;
  const parsed = new Date(headerValue);
  if (Number.isNaN(parsed.getTime())) {
    throw new TypeError(`invalid X-Sdk-Date header value: ${JSON.stringify(headerValue)}`);
  }
  return formatSdkDate(parsed);
}

/**
 * Computes the SDK-HMAC-SHA256 signature of a request over the headers it is given.
 * The `host` header must already be present (see {@link signRequest}).
 */
export function computeSignature(
  request: SignableRequest,
  secretKey: string,
  names?: readonly string[],
): SignatureParts {
  const lowerHeaders = new Map<string, string>();
  for (const name of Object.keys(request.headers)) lowerHeaders.set(name.toLowerCase(), request.headers[name]!);

  const signedNames = names === undefined ? [...lowerHeaders.keys()] : names.map((name) => name.toLowerCase());
  signedNames.sort();
  let canonicalHeaders = "";
  for (const name of signedNames) canonicalHeaders += `${name}:${lowerHeaders.get(name) ?? ""}\n`;
  const signedHeaders = signedNames.join(";");

  const dateHeader = lowerHeaders.get("x-sdk-date");
  if (dateHeader === undefined) throw new TypeError("cannot sign a request without an X-Sdk-Date header");
  const bodyHash = lowerHeaders.get("x-sdk-content-sha256") ?? payloadHash(request.body);

  const method = request.method.toUpperCase();
  const uri = memoized(canonicalUriCache, request.url, (url) => canonicalUri(rawPathname(url)));
  const query = canonicalQuery(request.query);
  const canonicalRequest = `${method}\n${uri}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${bodyHash}`;

  const date = sdkDateForStringToSign(dateHeader);
  const stringToSign = `${SIGNING_ALGORITHM}\n${date}\n${hash("sha256", canonicalRequest, "hex")}`;
  const signature = createHmac("sha256", hmacKey(secretKey)).update(stringToSign, "utf8").digest("hex");

  return { canonicalRequest, stringToSign, signedHeaders, signature };
}

// A client signs for a few URLs and one key, so small caches save parsing the URL and importing
// the key on almost every request. The URL caches are cleared when full.
const MAX_CACHED_URLS = 256;
const canonicalUriCache = new Map<string, string>();
const hostCache = new Map<string, string>();
let lastHmacKey: { secretKey: string; key: KeyObject } | undefined;

function memoized(cache: Map<string, string>, url: string, compute: (url: string) => string): string {
  let value = cache.get(url);
  if (value === undefined) {
    if (cache.size >= MAX_CACHED_URLS) cache.clear();
    value = compute(url);
    cache.set(url, value);
  }
  return value;
}

function hmacKey(secretKey: string): KeyObject {
  if (lastHmacKey?.secretKey !== secretKey) lastHmacKey = { secretKey, key: createSecretKey(Buffer.from(secretKey, "utf8")) };
  return lastHmacKey.key;
}

/**
 * Returns the path of a URL as written, without the WHATWG parser's escaping, because the
 * official signer works on the legacy parser's view of the path. `https://host` gives `/`.
 * Like the legacy parser, it drops C0 controls, spaces, U+00A0 and U+FEFF at the end of the URL.
 */
export function rawPathname(url: string): string {
  let end = url.length;
  while (end > 0 && isLegacyTrimmedChar(url.charCodeAt(end - 1))) end--;
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url.slice(0, end));
  const path = match?.[1] ?? "";
  return path === "" ? "/" : path;
}

function isLegacyTrimmedChar(code: number): boolean {
  return code <= 0x20 || code === 0xa0 || code === 0xfeff;
}

/**
 * Signs a request in place of the official SDK: adds `host` and, if absent, `X-Sdk-Date`, then
 * returns the headers with `Authorization`. Headers added after this call are not signed.
 *
 * @example
 * const headers = signRequest({ method: "POST", url, headers: { "content-type": "application/json" }, body }, creds);
 */
export function signRequest(
  request: SignableRequest,
  credentials: AccessKeyCredentials,
  now: Date = new Date(),
): Record<string, string> {
  // Built key by key, because adding keys to an object-spread copy is several times slower on Node 20.
  const headers: Record<string, string> = {};
  let hasDate = false;
  let hasHost = false;
  for (const name of Object.keys(request.headers)) {
    headers[name] = request.headers[name]!;
    const lower = name.toLowerCase();
    hasDate ||= lower === "x-sdk-date";
    hasHost ||= lower === "host";
  }
  if (!hasDate) headers["X-Sdk-Date"] = formatSdkDate(now);
  if (!hasHost) headers.host = memoized(hostCache, request.url, (url) => new URL(url).host);

  const { signedHeaders, signature } = computeSignature({ ...request, headers }, credentials.secretKey);
  headers.Authorization = `${SIGNING_ALGORITHM} Access=${credentials.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** Fields of an `Authorization: SDK-HMAC-SHA256 …` header. */
export interface ParsedAuthorization {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses an `Authorization` header, returning undefined when it is not SDK-HMAC-SHA256. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const match = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
    value.trim(),
  );
  if (match === null) return undefined;
  return { accessKey: match[1]!, signedHeaders: match[2]!.split(";"), signature: match[3]! };
}
