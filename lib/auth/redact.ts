/** Text that replaces a redacted value in logs. */
export const REDACTED = "[REDACTED]";

// Keys whose values are credentials or carry one: headers (Authorization, API keys, signatures),
// the query string and confirmation links (path tokens, SNS subscription tokens), and any key
// naming a token, secret, password or key pair.
const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-security-token|x-.*-signature|signature|ak|sk|access_?key(_?id)?|secret_?access_?key|rawquerystring|querystringparameters|subscribeurl|subscribe_url|token)$|(^|[_-])(ak|sk)$|token|secret|password|passwd|credential/i;

// Credentials written inside a text value: "Bearer abc", "Basic dXNlcjpwYXNz".
const INLINE_CREDENTIAL = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;

/**
 * JSON replacer for the Powertools Logger (`jsonReplacerFn`): replaces the values of sensitive
 * keys with {@link REDACTED} and masks `Bearer …`/`Basic …` credentials inside text, so a log
 * call that passes headers, a query or a credentials object by mistake still leaks nothing.
 */
export function redactSecrets(key: string, value: unknown): unknown {
  if (key !== "" && SENSITIVE_KEY.test(key) && value !== undefined && value !== null) return REDACTED;
  return typeof value === "string" ? value.replace(INLINE_CREDENTIAL, `$1 ${REDACTED}`) : value;
}
