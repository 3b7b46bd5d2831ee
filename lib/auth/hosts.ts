import { isIP } from "node:net";

/**
 * An allowed HTTPS host: DNS labels where `*` stands for exactly one label
 * (`sns.*.amazonaws.com`), or a literal IP address, with an optional port (default 443).
 */
export interface HostPattern {
  labels: readonly string[];
  port: number;
  /** The pattern as written, for logs and docs. */
  text: string;
}

const LABEL = /^(\*|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;

/** Parses a host pattern such as `sns.*.amazonaws.com` or `127.0.0.1:8443`; returns undefined when invalid. */
export function parseHostPattern(text: string): HostPattern | undefined {
  const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(text.trim().toLowerCase());
  if (match === null) return undefined;
  const host = match[1]!;
  const port = match[2] === undefined ? 443 : Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  if (isIP(host) === 4) return { labels: host.split("."), port, text };
  const labels = host.split(".");
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return undefined;
  // A wildcard may not stand for the registrable domain: `*.com` or `sns.*` would allow anyone.
  if (labels.slice(-2).includes("*")) return undefined;
  return { labels, port, text };
}

/**
 * Returns the parsed URL when it is `https:` without user info and its host and port match one
 * of the patterns. With `pathSuffix`, the path must also end with it. Otherwise returns undefined.
 * Nothing is resolved or contacted, so a rejected URL never causes a connection.
 */
export function allowedHttpsUrl(text: string, patterns: readonly HostPattern[], pathSuffix?: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") return undefined;
  if (pathSuffix !== undefined && !url.pathname.endsWith(pathSuffix)) return undefined;
  const port = url.port === "" ? 443 : Number(url.port);
  const labels = url.hostname.toLowerCase().split(".");
  const matches = patterns.some(
    (pattern) =>
      pattern.port === port &&
      pattern.labels.length === labels.length &&
      pattern.labels.every((label, index) => label === "*" || label === labels[index]),
  );
  return matches ? url : undefined;
}
