import type { NormalizedAlert } from "../sources/types";
import type { RouteTable, RouteTarget } from "./compile";

/** The verdict of one rule on one alert, for `secmaster-bridge routes explain`. */
export interface RuleTrace {
  index: number;
  rule: string;
  outcome: "matched" | "not matched" | "not evaluated";
  /** One line per condition, such as `severity Low is below High`. */
  details: string[];
}

/** A workflow an alert goes to, and the rule that sent it there. */
export interface RoutedTarget {
  target: RouteTarget;
  /** The rule's name; undefined for the default target. */
  rule: string | undefined;
}

/** The routing decision for one alert. */
export interface RouteDecision {
  /** Workflows to start, in rule order, each workflow once. Empty when nothing starts. */
  targets: RoutedTarget[];
  /** The rule that dropped the alert, when one did. */
  droppedBy: string | undefined;
  /** True when no rule matched and the default applied. */
  usedDefault: boolean;
  trace: RuleTrace[];
}

/**
 * Evaluates the rules in order. Every matching rule adds its targets until a rule with
 * `stop: true` matches; a matching `drop` rule ends evaluation and discards all targets. A firing
 * alert that no rule matched goes to the default targets; a resolved one goes nowhere.
 */
export function routeAlert(alert: NormalizedAlert, table: RouteTable): RouteDecision {
  const trace: RuleTrace[] = [];
  const targets: RoutedTarget[] = [];
  let stoppedBy: string | undefined;
  let matchedAny = false;

  for (const rule of table.rules) {
    if (stoppedBy !== undefined) {
      trace.push({ index: rule.index, rule: rule.name, outcome: "not evaluated", details: [`rule "${stoppedBy}" matched and has stop: true`] });
      continue;
    }
    if (!rule.statuses.has(alert.status)) {
      const accepted = [...rule.statuses].join(" or ");
      trace.push({ index: rule.index, rule: rule.name, outcome: "not matched", details: [`status is ${alert.status}; the rule takes ${accepted} alerts`] });
      continue;
    }

    const results = rule.conditions.map((condition) => condition.evaluate(alert));
    const details = [`status is ${alert.status}`, ...results.map((result) => result.detail)];
    if (!results.every((result) => result.holds)) {
      trace.push({ index: rule.index, rule: rule.name, outcome: "not matched", details });
      continue;
    }

    matchedAny = true;
    trace.push({ index: rule.index, rule: rule.name, outcome: "matched", details });
    if (rule.drop) {
      return { targets: [], droppedBy: rule.name, usedDefault: false, trace: finishTrace(trace, table, rule.index, rule.name) };
    }
    for (const target of rule.targets) {
      if (!targets.some((routed) => routed.target.workflowId === target.workflowId)) targets.push({ target, rule: rule.name });
    }
    if (rule.stop) stoppedBy = rule.name;
  }

  if (matchedAny || alert.status !== "firing") return { targets, droppedBy: undefined, usedDefault: false, trace };
  return {
    targets: table.defaultTargets.map((target) => ({ target, rule: undefined })),
    droppedBy: undefined,
    usedDefault: true,
    trace,
  };
}

function finishTrace(trace: RuleTrace[], table: RouteTable, lastIndex: number, droppedBy: string): RuleTrace[] {
  for (const rule of table.rules.slice(lastIndex + 1)) {
    trace.push({ index: rule.index, rule: rule.name, outcome: "not evaluated", details: [`rule "${droppedBy}" dropped the alert`] });
  }
  return trace;
}
