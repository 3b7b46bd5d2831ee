import { alertSchema, type Alert } from "../alert/schema";
import { ConfigError } from "../errors";
import { locateIssue, parseConfigText, readConfigFile } from "../routing/document";
import { formatPath } from "../sources/parse";
import { parseScheduleExpression, type ScheduleExpression } from "./expression";
import { schedulesFileSchema, TEMPLATE_PLACEHOLDERS, type ScheduleDeclaration } from "./schema";

/** A validated schedule with its parsed expression. */
export interface Schedule {
  name: string;
  description: string | undefined;
  expression: ScheduleExpression;
  enabled: boolean;
  /** Undefined means the deployment's default target. */
  target: ScheduleDeclaration["target"];
  template: Readonly<Record<string, unknown>>;
}

/** Values of the template placeholders for one run. */
export interface TemplateValues {
  schedule_name: string;
  scheduled_time: string;
  scheduled_date: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/**
 * Reads a schedules file (`BRIDGE_SCHEDULES_FILE`), YAML or JSON. YAML needs the parser that
 * `lib/routing/yaml` registers, so the deployed schedule function reads the JSON copy instead.
 *
 * @param setting Name of the variable or option that named the file, for a file that cannot be read.
 * @throws ConfigError listing every issue, each naming the schedule (index and name) and the field.
 */
export function readSchedulesFile(path: string, setting = "BRIDGE_SCHEDULES_FILE"): Schedule[] {
  return compileSchedules(readConfigFile(path, setting), path);
}

/** Parses the text of a schedules file; `origin` names it in issues and picks JSON by `.json`. */
export function parseSchedulesText(text: string, origin: string): Schedule[] {
  return compileSchedules(parseConfigText(text, origin), origin);
}

/**
 * Validates a parsed schedules file. Each template is filled with sample values and checked
 * against the Alert data class, so a wrong enum or an unknown placeholder fails at load.
 *
 * @throws ConfigError listing every issue.
 */
export function compileSchedules(input: unknown, origin: string): Schedule[] {
  const parsed = schedulesFileSchema.safeParse(input);
  // Issues by schedule index, so that each schedule's problems are listed together and in order.
  const issues: { index: number; text: string }[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ index: typeof issue.path[1] === "number" ? issue.path[1] : -1, text: `${origin}: ${locateIssue(input, issue.path, "schedules")}: ${issue.message}` });
    }
  }

  // The names and templates are checked on the raw entries too, so that an invalid field of one
  // schedule does not hide the problems of the others.
  const list = input !== null && typeof input === "object" ? (input as Record<string, unknown>).schedules : undefined;
  const seen = new Map<string, number>();
  (Array.isArray(list) ? list : []).forEach((entry: unknown, index) => {
    if (entry === null || typeof entry !== "object") return;
    const { name, alert } = entry as { name?: unknown; alert?: unknown };
    const where = `${origin}: ${locateIssue(input, ["schedules", index], "schedules")}`;
    if (typeof name === "string") {
      const first = seen.get(name);
      if (first === undefined) seen.set(name, index);
      else issues.push({ index, text: `${where}: name: duplicates the name of schedules[${first}]` });
    }
    if (alert !== null && typeof alert === "object" && !Array.isArray(alert)) {
      for (const problem of checkTemplate(alert as Record<string, unknown>)) issues.push({ index, text: `${where}: alert${problem}` });
    }
  });
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues.sort((left, right) => left.index - right.index).map((issue) => issue.text));
  }

  return parsed.data.schedules.map((schedule) => ({
    name: schedule.name,
    description: schedule.description,
    expression: parseScheduleExpression(schedule.expression),
    enabled: schedule.enabled ?? true,
    target: schedule.target,
    template: schedule.alert ?? {},
  }));
}

function checkTemplate(template: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const unknown = new Set<string>();
  visitStrings(template, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) {
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1]!)) unknown.add(match[1]!);
    }
  });
  for (const name of unknown) {
    problems.push(`: unknown placeholder {{${name}}}; use ${TEMPLATE_PLACEHOLDERS.map((known) => `{{${known}}}`).join(", ")}`);
  }
  const sample = alertSchema.safeParse(fillTemplate(template, { schedule_name: "sample", scheduled_time: "2000-01-01T00:00:00.000Z", scheduled_date: "2000-01-01" }));
  if (!sample.success) {
    for (const issue of sample.error.issues) problems.push(`${issue.path.length === 0 ? "" : `.${formatPath(issue.path)}`}: ${issue.message}`);
  }
  return problems;
}

/** Replaces the placeholders in every string of a template; keys are left as they are. */
export function fillTemplate(value: unknown, values: TemplateValues): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name as keyof TemplateValues] : whole));
  }
  if (Array.isArray(value)) return value.map((item) => fillTemplate(item, values));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillTemplate(item, values)]));
  }
  return value;
}

/**
 * Builds the Alert content of one run: the filled template, plus the scheduled time as the
 * observed and create times and a title naming the schedule where the template sets none.
 */
export function renderScheduledAlert(schedule: Schedule, scheduledTime: string): Alert {
  const values: TemplateValues = { schedule_name: schedule.name, scheduled_time: scheduledTime, scheduled_date: scheduledTime.slice(0, 10) };
  const filled = alertSchema.parse(fillTemplate(schedule.template, values));
  return {
    title: `Scheduled run of ${schedule.name}`,
    first_observed_time: scheduledTime,
    last_observed_time: scheduledTime,
    create_time: scheduledTime,
    ...filled,
  };
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const item of value) visitStrings(item, visit);
  else if (value !== null && typeof value === "object") for (const item of Object.values(value)) visitStrings(item, visit);
}
