import { SEVERITIES, type Alert, type Severity } from "../alert/schema";
import type { AlertStatus, NormalizedAlert } from "../sources/types";
import { compilePatternList, type ValueMatcher } from "./pattern";
import type { RouteMatch } from "./schema";

/** Result of one condition against one alert, with the reason in words for `routes explain`. */
export interface ConditionResult {
  holds: boolean;
  detail: string;
}

/** One compiled condition of a rule. */
export interface Condition {
  /** Key in the rule's `match`, such as `labels.team`. */
  field: string;
  evaluate(alert: NormalizedAlert): ConditionResult;
}

/** Compiles the conditions of a validated `match`; the status condition is handled by the rule. */
export function compileConditions(match: RouteMatch): Condition[] {
  const conditions: Condition[] = [];
  if (match.source !== undefined) {
    conditions.push(valueCondition("source", compilePatternList(match.source), (alert) => [alert.source]));
  }
  if (match.min_severity !== undefined) conditions.push(severityCondition(match.min_severity));
  if (match.alert_type !== undefined) {
    const byField = isByField(match.alert_type) ? match.alert_type : { alert_type: match.alert_type };
    if (byField.category !== undefined) {
      conditions.push(valueCondition("alert_type.category", compilePatternList(byField.category), (alert) => textValues(alert.content.alert_type?.category)));
    }
    if (byField.alert_type !== undefined) {
      conditions.push(valueCondition("alert_type.alert_type", compilePatternList(byField.alert_type), (alert) => textValues(alert.content.alert_type?.alert_type)));
    }
  }
  for (const [name, patterns] of Object.entries(match.labels ?? {})) {
    conditions.push(valueCondition(`labels.${name}`, compilePatternList(patterns), (alert) => labelsOf(alert.content).get(name) ?? []));
  }
  if (match.tags !== undefined) {
    conditions.push(valueCondition("tags", compilePatternList(match.tags), (alert) => tagsOf(alert.content)));
  }
  for (const [path, patterns] of Object.entries(match.fields ?? {})) {
    conditions.push(valueCondition(`fields.${path}`, compilePatternList(patterns), (alert) => valuesAt(alert.content, path.split("."))));
  }
  return conditions;
}

/** Statuses a rule accepts; `firing` when the rule names none. */
export function statusesOf(match: RouteMatch | undefined): ReadonlySet<AlertStatus> {
  const status = match?.status ?? "firing";
  if (status === "any") return new Set(["firing", "resolved"]);
  return new Set(Array.isArray(status) ? status : [status]);
}

type AlertTypeMatch = NonNullable<RouteMatch["alert_type"]>;

function isByField(value: AlertTypeMatch): value is Extract<AlertTypeMatch, { category?: unknown }> {
  return typeof value === "object" && !Array.isArray(value) && !["exact", "glob", "regex", "exists"].some((key) => key in value);
}

function valueCondition(field: string, matcher: ValueMatcher, read: (alert: NormalizedAlert) => readonly string[]): Condition {
  return {
    field,
    evaluate: (alert) => {
      const values = read(alert);
      const shown = values.length === 0 ? "is missing" : `is ${values.slice(0, 3).map((value) => JSON.stringify(value.slice(0, 80))).join(", ")}${values.length > 3 ? ", …" : ""}`;
      const holds = matcher.test(values);
      return { holds, detail: `${field} ${shown}, ${holds ? "matching" : "not matching"} ${matcher.description}` };
    },
  };
}

function severityCondition(minimum: Severity): Condition {
  const minimumRank = SEVERITIES.indexOf(minimum);
  return {
    field: "min_severity",
    evaluate: (alert) => {
      const severity = alert.content.severity;
      if (severity === undefined) return { holds: false, detail: "severity is missing" };
      const holds = SEVERITIES.indexOf(severity) >= minimumRank;
      return { holds, detail: `severity ${severity} is ${holds ? "at or above" : "below"} ${minimum}` };
    },
  };
}

function textValues(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (typeof value === "number" || typeof value === "boolean") return [String(value)];
  return [];
}

/**
 * Reads every value at a dotted path of the Alert content. Lists on the way are searched, so
 * `network_list.src_ip` yields the source address of every network entry.
 */
export function valuesAt(content: Alert, path: readonly string[]): string[] {
  let current: unknown[] = [content];
  for (const segment of path) {
    const next: unknown[] = [];
    for (const item of current) {
      const items: readonly unknown[] = Array.isArray(item) ? item : [item];
      for (const entry of items) {
        if (entry !== null && typeof entry === "object" && Object.hasOwn(entry, segment)) {
          next.push((entry as Record<string, unknown>)[segment]);
        }
      }
    }
    current = next;
  }
  return current.flatMap((value) => (Array.isArray(value) ? value.flatMap(textValues) : textValues(value)));
}

const labelCache = new WeakMap<Alert, Map<string, string[]>>();

/**
 * Returns the labels of an alert by name. Sources write labels into the Alert `labels` string as
 * comma-separated `name=value` entries, and resource tags into `resource_list[].tags`; both count.
 *
 * NOTE: the `labels` string is not escaped, so a label value that contains a comma is split and
 * only its text up to the first comma is seen here.
 */
export function labelsOf(content: Alert): ReadonlyMap<string, string[]> {
  const cached = labelCache.get(content);
  if (cached !== undefined) return cached;

  const labels = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const values = labels.get(name);
    if (values === undefined) labels.set(name, [value]);
    else if (!values.includes(value)) values.push(value);
  };
  for (const entry of tagsOf(content)) {
    const separator = entry.indexOf("=");
    if (separator > 0) add(entry.slice(0, separator), entry.slice(separator + 1));
  }
  for (const resource of content.resource_list ?? []) {
    for (const [name, value] of Object.entries(resource.tags ?? {})) add(name, value);
  }
  labelCache.set(content, labels);
  return labels;
}

/** Returns the trimmed, non-empty comma-separated entries of the Alert `labels` string. */
export function tagsOf(content: Alert): string[] {
  return (content.labels ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}
