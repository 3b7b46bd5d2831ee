import { SEVERITIES, type Severity } from "./schema";

/**
 * Severity words used by label-based senders (Alertmanager, Grafana and similar), mapped onto
 * SecMaster's scale. Keys are lower case; look values up with {@link severityFromLabel}.
 */
export const LABEL_SEVERITY_MAP: Readonly<Record<string, Severity>> = {
  critical: "Fatal",
  crit: "Fatal",
  fatal: "Fatal",
  emergency: "Fatal",
  page: "Fatal",
  p1: "Fatal",
  high: "High",
  error: "High",
  major: "High",
  p2: "High",
  warning: "Medium",
  warn: "Medium",
  medium: "Medium",
  p3: "Medium",
  low: "Low",
  minor: "Low",
  p4: "Low",
  info: "Tips",
  informational: "Tips",
  none: "Tips",
  p5: "Tips",
};

/** Returns the severity for a label value, or undefined when the word is not in the map. */
export function severityFromLabel(value: string): Severity | undefined {
  const word = value.trim().toLowerCase();
  // Own keys only: "constructor" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(LABEL_SEVERITY_MAP, word) ? LABEL_SEVERITY_MAP[word] : undefined;
}

/** True when the string is one of SecMaster's severities, spelt exactly. */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && (SEVERITIES as readonly string[]).includes(value);
}

/** Orders severities: negative when `a` is lower than `b`. */
export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
}
