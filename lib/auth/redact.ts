/** Text that replaces a redacted value in logs. */
export const REDACTED = "[REDACTED]";

// Keys whose values are credentials or carry one: headers (Authorization, API keys, signatures),
// the query string and confirmation links (path tokens, SNS subscription tokens), and any key
// naming a token, secret, password or key pair.
const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-security-token|x-.*-signature|signature|ak|sk|access_?key(_?id)?|secret_?access_?key|rawquerystring|querystringparameters|subscribeurl|subscribe_url|token)$|(^|[_-])(ak|sk)$|token|secret|password|passwd|credential/i;

// A scheme name followed by a run of token characters (RFC 6750 b64token for Bearer, base64 for
// Basic). Whether the run is a credential or an English word ("bearer scheme", "basic
// authentication") is decided by looksLikeBearerToken and looksLikeBasicCredentials.
const INLINE_CREDENTIAL = /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/-]+=*)/gi;

// Shortest Bearer value treated as a token. Shorter runs are words or placeholders.
const BEARER_TOKEN_MIN_LENGTH = 6;
// A run of letters this long is not an English word, so it is masked even without digits.
const BEARER_LETTERS_ONLY_MIN_LENGTH = 32;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Returns whether a Bearer value is a token rather than a word. A token has a digit, one of
 * `_~+/=`, a lowercase letter followed by an uppercase one, or is too long to be a word.
 * NOTE: a made-up token of lowercase words and hyphens ("my-secret-token") reads as text and is
 * not masked here. Header and key redaction still cover it when it is logged as a header.
 */
function looksLikeBearerToken(value: string): boolean {
  if (value.length < BEARER_TOKEN_MIN_LENGTH) return false;
  if (/[0-9_~+/=]/.test(value) || /[a-z][A-Z]/.test(value)) return true;
  return value.length >= BEARER_LETTERS_ONLY_MIN_LENGTH;
}

// Shortest padded base64 value treated as Basic credentials without decoding to `user:password`.
const BASIC_ENCODED_MIN_LENGTH = 8;

/**
 * Returns whether a Basic value is credentials rather than a word: base64 that decodes to
 * printable UTF-8 text with a colon (`user:password`, RFC 7617), or padded base64 of at least
 * 8 characters with a digit, `+`, `/` or `=`.
 */
function looksLikeBasicCredentials(value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const padded = value.length % 4 === 0;
  if (value.includes("=") && !padded) return false;
  if (padded && value.length >= BASIC_ENCODED_MIN_LENGTH && /[0-9+/=]/.test(value)) return true;
  try {
    const text = utf8.decode(Buffer.from(value, "base64"));
    return text.includes(":") && !/\p{Cc}/u.test(text);
  } catch {
    return false;
  }
}

function maskInlineCredential(match: string, scheme: string, space: string, value: string): string {
  // A sentence may end right after a word ("… uses a bearer token."), so a trailing dot or hyphen
  // is not part of the value and stays in the text.
  const trimmed = value.replace(/[.-]+$/, "");
  const isCredential =
    scheme.toLowerCase() === "bearer" ? looksLikeBearerToken(trimmed) : looksLikeBasicCredentials(trimmed);
  return isCredential ? `${scheme}${space}${REDACTED}${value.slice(trimmed.length)}` : match;
}

/**
 * JSON replacer for the Powertools Logger (`jsonReplacerFn`): replaces the values of sensitive
 * keys with {@link REDACTED} and masks `Bearer <token>`/`Basic <base64>` credentials inside text,
 * so a log call that passes headers, a query or a credentials object by mistake still leaks
 * nothing. Ordinary words after the scheme name ("the bearer scheme") are left as written.
 */
export function redactSecrets(key: string, value: unknown): unknown {
  if (key !== "" && SENSITIVE_KEY.test(key) && value !== undefined && value !== null) return REDACTED;
  return typeof value === "string" ? value.replace(INLINE_CREDENTIAL, maskInlineCredential) : value;
}
