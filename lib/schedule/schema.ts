import * as z from "zod";
import { targetSchema } from "../routing/schema";
import { parseScheduleExpression, ScheduleExpressionError } from "./expression";

/**
 * Placeholders a template string may contain, filled in for each run.
 *
 * - `{{schedule_name}}`: the schedule's `name`.
 * - `{{scheduled_time}}`: the scheduled time, RFC 3339 UTC with milliseconds.
 * - `{{scheduled_date}}`: the UTC date of the scheduled time, `YYYY-MM-DD`.
 */
export const TEMPLATE_PLACEHOLDERS = ["schedule_name", "scheduled_time", "scheduled_date"] as const;

/**
 * Schedule names become part of EventBridge rule names (at most 64 characters with the stage
 * prefix) and of the `action_instance_id`, so they are short and stable.
 */
export const scheduleNameSchema = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "must be 1 to 32 lower-case letters, digits or '-', starting with a letter or digit");

/** One scheduled trigger. */
export const scheduleSchema = z.strictObject({
  name: scheduleNameSchema,
  description: z.string().max(256, "must be at most 256 characters").optional(),
  /** `rate(...)` or `cron(...)` in EventBridge syntax, UTC. */
  expression: z.string().superRefine((text, context) => {
    try {
      parseScheduleExpression(text);
    } catch (error) {
      if (!(error instanceof ScheduleExpressionError)) throw error;
      context.addIssue({ code: "custom", message: error.message });
    }
  }),
  /** A disabled schedule keeps its EventBridge rule, switched off, and does not fire locally. @default true */
  enabled: z.boolean().optional(),
  /** Workflow to start. @default the SECMASTER_* default target */
  target: targetSchema.optional(),
  /**
   * Alert content template, whose string values may contain the {@link TEMPLATE_PLACEHOLDERS}.
   * A missing template is `{}`, which the run fills with a title and the scheduled time.
   */
  alert: z.record(z.string(), z.unknown(), { error: "must be a map of Alert fields, such as { title: ..., severity: Low }" }).optional(),
});

/** A schedules file. */
export const schedulesFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  schedules: z.array(scheduleSchema),
});

export type ScheduleDeclaration = z.infer<typeof scheduleSchema>;
