import * as z from "zod";
import { alertSchema } from "../alert/schema";
import { ConfigError } from "../errors";
import type { DefaultTarget } from "../ingest";
import type { AlertStatus } from "../sources/types";
import { compileConditions, statusesOf, type Condition } from "./conditions";
import { locateIssue } from "./document";
import { routingFileSchema, type RoutingFile, type TargetDeclaration } from "./schema";

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
 * @param input The parsed YAML or JSON document.
 * @param options.origin Name of the file or parameter, at the start of every issue.
 * @param options.defaultTarget The deployment's `SECMASTER_*` target; it supplies a target's
 *   missing `project_id` and `dataclass`, and receives unmatched firing alerts unless the file
 *   sets `default`.
 * @throws ConfigError listing every issue, each naming the rule (index and name) and the field.
 */
export function compileRoutingFile(input: unknown, options: { origin: string; defaultTarget: DefaultTarget }): RouteTable {
  const { origin, defaultTarget } = options;
  const parsed = routingFileSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${origin}: ${locateIssue(input, issue.path, "rules")}: ${issue.message}`));
  }
  const file = parsed.data;
  const issues: string[] = [];
  const report = (ruleIndex: number | undefined, field: string, message: string) => {
    const where = ruleIndex === undefined ? field : `${locateIssue(input, ["rules", ruleIndex], "rules")}: ${field}`;
    issues.push(`${origin}: ${where}: ${message}`);
  };

  const resolve = (target: TargetDeclaration): RouteTarget => ({
    projectId: target.project_id ?? defaultTarget.projectId,
    workspaceId: target.workspace_id,
    workflowId: target.workflow_id,
    dataclass: target.dataclass ?? defaultTarget.dataclass,
  });
  let defaultTargets: RouteTarget[] = [defaultTarget];
  if (file.default !== undefined) defaultTargets = "drop" in file.default ? [] : file.default.targets.map(resolve);

  const rules = file.rules.map((rule, index): CompiledRule => {
    for (const path of Object.keys(rule.match?.fields ?? {})) {
      const problem = checkAlertPath(path.split("."));
      if (problem !== undefined) report(index, `match.fields.${path}`, problem);
    }
    return {
      index,
      name: rule.name,
      statuses: statusesOf(rule.match),
      conditions: compileConditions(rule.match ?? {}),
      targets: (rule.targets ?? []).map(resolve),
      drop: rule.drop === true,
      stop: rule.stop === true,
    };
  });

  checkNames(file, report);
  checkTargets(rules, report);
  checkResolveWorkflows(rules, file.default === undefined ? "the SECMASTER_WORKFLOW_ID default" : "the default target", defaultTargets, report);
  if (issues.length > 0) throw new ConfigError(issues);
  return { origin, rules, defaultTargets };
}

type Report = (ruleIndex: number | undefined, field: string, message: string) => void;

function checkNames(file: RoutingFile, report: Report): void {
  const seen = new Map<string, number>();
  file.rules.forEach((rule, index) => {
    const first = seen.get(rule.name);
    if (first === undefined) seen.set(rule.name, index);
    else report(index, "name", `duplicates the name of rules[${first}]; give every rule its own name`);
  });
}

function checkTargets(rules: readonly CompiledRule[], report: Report): void {
  for (const rule of rules) {
    const seen = new Set<string>();
    rule.targets.forEach((target, index) => {
      if (seen.has(target.workflowId)) report(rule.index, `targets[${index}].workflow_id`, `lists workflow ${target.workflowId} twice`);
      seen.add(target.workflowId);
    });
  }
}

/**
 * Rejects a workflow that receives both firing and resolved alerts. A resolved alert has the same
 * source, key and episode as its firing notifications, so its `action_instance_id` differs from
 * the firing one only through the workflow id. In a shared workflow the resolved alert would be a
 * duplicate and start nothing.
 */
function checkResolveWorkflows(rules: readonly CompiledRule[], defaultName: string, defaultTargets: readonly RouteTarget[], report: Report): void {
  const firing = new Map<string, string>();
  for (const target of defaultTargets) firing.set(target.workflowId, defaultName);
  for (const rule of rules) {
    if (!rule.statuses.has("firing")) continue;
    for (const target of rule.targets) if (!firing.has(target.workflowId)) firing.set(target.workflowId, `rule "${rule.name}"`);
  }

  for (const rule of rules) {
    if (!rule.statuses.has("resolved") || rule.targets.length === 0) continue;
    if (rule.statuses.has("firing")) {
      report(
        rule.index,
        "match.status",
        "a rule with targets cannot match both firing and resolved alerts, because a resolved alert gets the same action_instance_id as its firing episode in the same workflow and starts nothing; write a separate rule with status: resolved that names a resolve workflow",
      );
      continue;
    }
    rule.targets.forEach((target, index) => {
      const owner = firing.get(target.workflowId);
      if (owner === undefined) return;
      report(
        rule.index,
        `targets[${index}].workflow_id`,
        `workflow ${target.workflowId} also receives firing alerts from ${owner}, so a resolved alert would get the same action_instance_id as its firing episode and start nothing; route resolved alerts to a separate resolve workflow`,
      );
    });
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
