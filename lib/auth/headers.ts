/** Header map of an API Gateway v2 event; API Gateway lower-cases names, direct invocations may not. */
export type HeaderMap = Readonly<Record<string, string | undefined>> | undefined;

/**
 * Returns the value of a header, matching its name case-insensitively. When the map contains the
 * name in several spellings with different values, the header is ambiguous and undefined is
 * returned, so a credential check fails instead of picking one.
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const expected = name.toLowerCase();
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || key.toLowerCase() !== expected) continue;
    if (found !== undefined && found !== value) return undefined;
    found = value;
  }
  return found;
}
