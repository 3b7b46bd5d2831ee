import * as z from "zod";
import { alertSchema } from "../alert/schema";
import { ConfigError } from "../errors";
import type { DefaultTarget } from "../ingest";
import type { AlertStatus } from "../sources/types";
import { compileConditions, statusesOf, type Condition } from "./conditions";
import { locateIssue } from "./document";
import { compilePatternList, patternListSchema, type Pattern } from "./pattern";
import { ALERT_FIELD_PATH, defaultRouteSchema, matchSchema, routingFileSchema, targetSchema, type TargetDeclaration } from "./schema";

/** A workflow to start, with every id resolved; the same shape as the default target. */
export type RouteTarget = DefaultTarget;

/** A validated rule, ready to evaluate. */
export interface CompiledRule {
  /** Position in the file, from 0. */
  index: number;
  name: string;
  statuses: ReadonlySet<AlertStatus>;
  conditions: readonly Condition[];
  targets: readonly RouteTarget[];
  drop: boolean;
  stop: boolean;
}

/** Ordered rules and the default, as the ingest path evaluates them. */
export interface RouteTable {
  /** Origin of the rules, for messages: a file path, an SSM parameter or `environment`. */
  origin: string;
  rules: readonly CompiledRule[];
  /** Targets of a firing alert that no rule matched; empty when the default drops it. */
  defaultTargets: readonly RouteTarget[];
}

/** Returns the table of a deployment without a routing file: every firing alert to the default target. */
export function defaultRouteTable(defaultTarget: DefaultTarget): RouteTable {
  return { origin: "environment", rules: [], defaultTargets: [defaultTarget] };
}

/**
 * Validates a parsed routing file and compiles it.
 *
 * Every rule is checked, and an invalid rule hides no problem of another. The cross-rule checks
 * (names, repeated workflows, field paths, source ids, resolve workflows) read what they need
 * from the raw rules, so they run even when the schema rejected some rule.
 *
 * @param input The parsed YAML or JSON document.
 * @param options.origin Name of the file or parameter, at the start of every issue.
 * @param options.defaultTarget The deployment's `SECMASTER_*` target; it supplies a target's
 *   missing `project_id` and `dataclass`, and receives unmatched firing alerts unless the file
 *   sets `default`.
 * @param options.sourceIds Ids of the sources the deployment accepts, built-in and generic. A
 *   `match.source` pattern that matches none of them is an issue, because the rule would never
 *   match. Without the list, `match.source` is not checked.
 * @throws ConfigError listing every issue of every rule, in rule order, each naming the rule
 *   (index and name) and the field.
 */
export function compileRoutingFile(
  input: unknown,
  options: { origin: string; defaultTarget: DefaultTarget; sourceIds?: readonly string[] | undefined },
): RouteTable {
  const { origin, defaultTarget } = options;
  const issues: { ruleIndex: number; text: string }[] = [];
  const report: Report = (ruleIndex, field, message) => {
    const where = ruleIndex === undefined ? field : `${locateIssue(input, ["rules", ruleIndex], "rules")}: ${field}`;
    issues.push({ ruleIndex: ruleIndex ?? -1, text: `${origin}: ${where}: ${message}` });
  };

  const parsed = routingFileSchema.safeParse(input);
  for (const issue of parsed.error?.issues ?? []) {
    const ruleIndex = issue.path[0] === "rules" && typeof issue.path[1] === "number" ? issue.path[1] : -1;
    issues.push({ ruleIndex, text: `${origin}: ${locateIssue(input, issue.path, "rules")}: ${issue.message}` });
  }

  const resolve = (target: TargetDeclaration): RouteTarget => ({
    projectId: target.project_id ?? defaultTarget.projectId,
    workspaceId: target.workspace_id,
    workflowId: target.workflow_id,
    dataclass: target.dataclass ?? defaultTarget.dataclass,
  });
  const document = asRecord(input);
  const facts = (Array.isArray(document?.rules) ? (document.rules as unknown[]) : []).map((rule, index) => readRuleFacts(rule, index, resolve));
  const declaredDefault = document?.default === undefined ? undefined : defaultRouteSchema.safeParse(document.default);
  let defaultTargets: RouteTarget[] = [defaultTarget];
  if (declaredDefault !== undefined) {
    // The schema has reported an invalid default, so it claims no workflow in the checks below.
    defaultTargets = !declaredDefault.success || "drop" in declaredDefault.data ? [] : declaredDefault.data.targets.map(resolve);
  }

  checkFieldPaths(facts, report);
  if (options.sourceIds !== undefined) checkSources(facts, options.sourceIds, report);
  checkNames(facts, report);
  checkTargets(facts, report);
  checkResolveWorkflows(facts, declaredDefault === undefined ? "the SECMASTER_WORKFLOW_ID default" : "the default target", defaultTargets, report);
  if (issues.length > 0 || !parsed.success) {
    // A stable sort keeps the schema's field order within a rule, and puts file-level issues first.
    throw new ConfigError(issues.sort((left, right) => left.ruleIndex - right.ruleIndex).map((issue) => issue.text));
  }

  const rules = parsed.data.rules.map(
    (rule, index): CompiledRule => ({
      index,
      name: rule.name,
      statuses: statusesOf(rule.match),
      conditions: compileConditions(rule.match ?? {}),
      targets: (rule.targets ?? []).map(resolve),
      drop: rule.drop === true,
      stop: rule.stop === true,
    }),
  );
  return { origin, rules, defaultTargets };
}

type Report = (ruleIndex: number | undefined, field: string, message: string) => void;

/**
 * Parts of a rule that the cross-rule checks need, read from the raw rule so that a rule the
 * schema rejected is still checked. A part that is itself invalid is left out, because the schema
 * has reported it.
 */
interface RuleFacts {
  /** Position in the file, from 0. */
  index: number;
  name: string | undefined;
  /** Statuses the rule accepts, or undefined when `match` or `match.status` is invalid. */
  statuses: ReadonlySet<AlertStatus> | undefined;
  /** The valid targets, each with its position in `targets`, or none for a rule that drops. */
  targets: { position: number; target: RouteTarget }[];
  /** Keys of `match.fields` that are dotted paths. */
  fieldPaths: string[];
  /** The patterns of a valid `match.source`, with the field each was written at. */
  sourcePatterns: { field: string; pattern: Pattern }[];
}

function readRuleFacts(input: unknown, index: number, resolve: (target: TargetDeclaration) => RouteTarget): RuleFacts {
  const rule = asRecord(input);
  const match = rule?.match === undefined ? {} : asRecord(rule.match);
  const status = matchSchema.shape.status.safeParse(match?.status);
  const targets = rule?.drop !== true && Array.isArray(rule?.targets) ? (rule.targets as unknown[]) : [];
  return {
    index,
    name: typeof rule?.name === "string" ? rule.name : undefined,
    statuses: match !== undefined && status.success ? statusesOf({ status: status.data }) : undefined,
    targets: targets.flatMap((declared, position) => {
      const target = targetSchema.safeParse(declared);
      return target.success ? [{ position, target: resolve(target.data) }] : [];
    }),
    fieldPaths: Object.keys(asRecord(match?.fields) ?? {}).filter((path) => ALERT_FIELD_PATH.test(path)),
    sourcePatterns: readSourcePatterns(match?.source),
  };
}

function readSourcePatterns(declared: unknown): { field: string; pattern: Pattern }[] {
  const parsed = patternListSchema.safeParse(declared);
  if (declared === undefined || !parsed.success) return [];
  if (!Array.isArray(parsed.data)) return [{ field: "match.source", pattern: parsed.data }];
  return parsed.data.map((pattern, position) => ({ field: `match.source[${position}]`, pattern }));
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function checkFieldPaths(rules: readonly RuleFacts[], report: Report): void {
  for (const rule of rules) {
    for (const path of rule.fieldPaths) {
      const problem = checkAlertPath(path.split("."));
      if (problem !== undefined) report(rule.index, `match.fields.${path}`, problem);
    }
  }
}

/**
 * Rejects a `match.source` pattern that matches no source id of the deployment, such as a
 * misspelt id. An `exists` pattern is not checked, because every alert has a source.
 */
function checkSources(rules: readonly RuleFacts[], sourceIds: readonly string[], report: Report): void {
  const known = `known source ids: ${[...sourceIds].sort().join(", ")}`;
  for (const rule of rules) {
    for (const { field, pattern } of rule.sourcePatterns) {
      if (typeof pattern === "object" && "exists" in pattern) continue;
      const matcher = compilePatternList(pattern);
      if (sourceIds.some((id) => matcher.test([id]))) continue;
      const exact = typeof pattern === "string" || "exact" in pattern;
      const problem = exact ? `${matcher.description} is not a known source id` : `${matcher.description} matches no known source id`;
      report(rule.index, field, `${problem}, so the rule never matches; ${known}; a generic source counts once its mapping is given (--mapping FILE or BRIDGE_GENERIC_MAPPINGS)`);
    }
  }
}

function checkNames(rules: readonly RuleFacts[], report: Report): void {
  const seen = new Map<string, number>();
  for (const rule of rules) {
    if (rule.name === undefined) continue;
    const first = seen.get(rule.name);
    if (first === undefined) seen.set(rule.name, rule.index);
    else report(rule.index, "name", `duplicates the name of rules[${first}]; give every rule its own name`);
  }
}

function checkTargets(rules: readonly RuleFacts[], report: Report): void {
  for (const rule of rules) {
    const seen = new Set<string>();
    for (const { position, target } of rule.targets) {
      if (seen.has(target.workflowId)) report(rule.index, `targets[${position}].workflow_id`, `lists workflow ${target.workflowId} twice`);
      seen.add(target.workflowId);
    }
  }
}

/**
 * Rejects a workflow that receives both firing and resolved alerts. A resolved alert has the same
 * source, key and episode as its firing notifications, so its `action_instance_id` differs from
 * the firing one only through the workflow id. In a shared workflow the resolved alert would be a
 * duplicate and start nothing.
 */
function checkResolveWorkflows(rules: readonly RuleFacts[], defaultName: string, defaultTargets: readonly RouteTarget[], report: Report): void {
  const firing = new Map<string, string>();
  for (const target of defaultTargets) firing.set(target.workflowId, defaultName);
  for (const rule of rules) {
    if (rule.statuses?.has("firing") !== true) continue;
    const owner = rule.name === undefined ? `rules[${rule.index}]` : `rule "${rule.name}"`;
    for (const { target } of rule.targets) if (!firing.has(target.workflowId)) firing.set(target.workflowId, owner);
  }

  for (const rule of rules) {
    if (rule.statuses?.has("resolved") !== true || rule.targets.length === 0) continue;
    if (rule.statuses.has("firing")) {
      report(
        rule.index,
        "match.status",
        "a rule with targets cannot match both firing and resolved alerts, because a resolved alert gets the same action_instance_id as its firing episode in the same workflow and starts nothing; write a separate rule with status: resolved that names a resolve workflow",
      );
      continue;
    }
    for (const { position, target } of rule.targets) {
      const owner = firing.get(target.workflowId);
      if (owner === undefined) continue;
      report(
        rule.index,
        `targets[${position}].workflow_id`,
        `workflow ${target.workflowId} also receives firing alerts from ${owner}, so a resolved alert would get the same action_instance_id as its firing episode and start nothing; route resolved alerts to a separate resolve workflow`,
      );
    }
  }
}

/**
 * Checks a dotted path against the Alert schema, so that a misspelt field is an error at load and
 * not a rule that never matches. Free-form maps (`system_info`, resource `tags`) accept any key.
 */
export function checkAlertPath(path: readonly string[]): string | undefined {
  let schema: z.ZodType = alertSchema;
  for (const [depth, segment] of path.entries()) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodRecord) return undefined;
    if (!(schema instanceof z.ZodObject)) {
      return `${path.slice(0, depth).join(".")} holds a value, not an object, so ${segment} cannot follow it`;
    }
    const shape = schema.shape as Record<string, z.ZodType>;
    if (!Object.hasOwn(shape, segment)) {
      return `${[...path.slice(0, depth), segment].join(".")} is not a field of the SecMaster Alert data class`;
    }
    schema = shape[segment]!;
  }
  return undefined;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return current;
  }
}
