/**
 * Formats a label map as SecMaster's `labels` string: `key=value` pairs sorted by key (UTF-16
 * code unit order) and joined by `separator`. Keys and values are not escaped, so splitting the
 * string again is ambiguous when a value contains the separator. The string is for people and
 * search, not for parsing.
 */
export function formatLabels(labels: Readonly<Record<string, string>>, separator = ","): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(separator);
}
