import * as z from "zod";
import { SEVERITIES } from "../alert/schema";
import { patternListSchema } from "./pattern";

/**
 * SecMaster path ids (project, workspace, workflow). The client sends them unescaped, so they are
 * limited to characters that need no escaping; SecMaster ids are UUIDs or hex strings.
 */
export const secMasterIdSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : typeof issue.input === "number"
          ? "must be a string; YAML reads unquoted ids of digits (and one e) as numbers, so quote the id"
          : "must be a string",
  })
  .regex(/^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}$/, "must be 1 to 128 letters, digits, '-', '_', '.' or '~', not starting with '.'");

/** The data class a workflow runs on, copied into `playbook_context.data_object.dataclass`. */
export const dataclassSchema = z.strictObject({
  id: z.string().min(1, "must not be empty when set").optional(),
  name: z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") }).min(1, "is required"),
});

/**
 * One workflow a rule sends alerts to. `project_id` and `dataclass` default to the deployment's
 * `SECMASTER_PROJECT_ID` and `SECMASTER_DATACLASS_NAME`/`SECMASTER_DATACLASS_ID`.
 */
export const targetSchema = z.strictObject({
  project_id: secMasterIdSchema.optional(),
  workspace_id: secMasterIdSchema,
  workflow_id: secMasterIdSchema,
  dataclass: dataclassSchema.optional(),
});

export const ALERT_STATUSES = ["firing", "resolved"] as const;

/** A dotted path into the Alert content, such as `data_source.product_name`. */
export const ALERT_FIELD_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Conditions of a rule; every condition given must hold. `status` defaults to `firing`, so a
 * rule matches resolved alerts only when it names them.
 */
export const matchSchema = z.strictObject({
  /** Source id, such as `alertmanager`. */
  source: patternListSchema.optional(),
  /** Lowest severity that matches, on the scale Tips < Low < Medium < High < Fatal. */
  min_severity: z.enum(SEVERITIES).optional(),
  /** Either a pattern for `alert_type.alert_type`, or patterns for both of its fields. */
  alert_type: z
    .union([
      z
        .strictObject({ category: patternListSchema.optional(), alert_type: patternListSchema.optional() })
        .refine((value) => value.category !== undefined || value.alert_type !== undefined, "must name category, alert_type or both"),
      patternListSchema,
    ], { error: "must be a pattern for alert_type.alert_type, or an object with category and/or alert_type patterns" })
    .optional(),
  /** Label name to value patterns, read from the Alert `labels` string and the resource tags. */
  labels: z.record(z.string().min(1, "label names must not be empty"), patternListSchema).optional(),
  /** Patterns of the entries of the Alert `labels` string, such as `env:prod` or `team=sec`. */
  tags: patternListSchema.optional(),
  status: z
    .union([z.enum([...ALERT_STATUSES, "any"]), z.array(z.enum(ALERT_STATUSES)).min(1)], {
      error: "must be firing, resolved, any, or a list of firing and resolved",
    })
    .optional(),
  /** Dotted paths into the Alert content, such as `data_source.product_name`; lists are searched. */
  fields: z.record(z.string().regex(ALERT_FIELD_PATH, "must be a dotted path of Alert field names"), patternListSchema).optional(),
});

/** One routing rule. A rule either names `targets` or sets `drop: true`. */
export const ruleSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1 to 64 letters, digits, '.', '_' or '-'"),
    description: z.string().optional(),
    match: matchSchema.optional(),
    targets: z.array(targetSchema).min(1, "must list at least one target").optional(),
    /** Drop the alert: nothing starts for it, not even targets of earlier rules. */
    drop: z.boolean().optional(),
    /** Evaluate no further rule once this one matched. @default false */
    stop: z.boolean().optional(),
  })
  .superRefine(
    (rule, context) => {
      // This check also runs on a rule with other invalid fields (see `when`), so its problem is
      // reported with theirs. An invalid drop is reported by the schema and decides nothing here.
      if (rule.drop !== undefined && typeof rule.drop !== "boolean") return;
      if (rule.drop === true && rule.targets !== undefined) {
        context.addIssue({ code: "custom", path: ["drop"], message: "a rule that drops alerts cannot also list targets" });
      }
      if (rule.drop !== true && rule.targets === undefined) {
        context.addIssue({ code: "custom", path: ["targets"], message: "is required unless the rule sets drop: true" });
      }
    },
    { when: (payload) => payload.value !== null && typeof payload.value === "object" && !Array.isArray(payload.value) },
  );

/** Handling of a firing alert that no rule matched: targets to start, or a drop. */
export const defaultRouteSchema = z.union([
  z.strictObject({ targets: z.array(targetSchema).min(1, "must list at least one target") }),
  z.strictObject({ drop: z.literal(true) }),
]);

/**
 * A routing file. Without `default`, unmatched firing alerts go to the deployment's
 * `SECMASTER_WORKFLOW_ID` in `SECMASTER_WORKSPACE_ID`.
 */
export const routingFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  default: defaultRouteSchema.optional(),
  rules: z.array(ruleSchema),
});

export type RoutingFile = z.infer<typeof routingFileSchema>;
export type RoutingRule = z.infer<typeof ruleSchema>;
export type RouteMatch = z.infer<typeof matchSchema>;
export type TargetDeclaration = z.infer<typeof targetSchema>;
