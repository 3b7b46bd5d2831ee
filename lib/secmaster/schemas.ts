import * as z from "zod";
import { lazily } from "../lazy";

// Request schemas are strict so that a misspelt field fails here instead of being dropped by
// SecMaster. Response schemas are loose, and their fields nullish where the service may omit
// them, so that an extra or missing field in a response does not turn a success into a failure.

// Shared by many fields: zod schemas are immutable, and each one built costs cold start time.
const nullishString = z.string().nullish();
const optionalNonEmptyString = z.string().min(1).optional();

/** Data class reference of a data object; `name` is required whenever the reference is sent. */
// A JSON object checked without copying it: the Alert content is validated when the alert is
// built, and copying every key of each request and its echo was the largest cost of a start.
const contentSchema = z.custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
  message: "Invalid input: expected object",
});

export const dataClassRefSchema = z.strictObject({
  id: optionalNonEmptyString,
  name: z.string().min(1),
});

/**
 * Body of CreateWorkflowInstance (`AopInstanceEventData` in the official SDK).
 *
 * @example
 * {
 *   "command_type": "ActionInstanceRunCommand",
 *   "action_type": "workflow",
 *   "action_id": "8a3c…",
 *   "action_instance_id": "5f0c…",
 *   "playbook_context": { "data_object": { "content": { "title": "High CPU" }, "dataclass": { "name": "Alert" } } }
 * }
 */
export const createWorkflowInstanceRequestSchema = z.strictObject({
  command_type: z.literal("ActionInstanceRunCommand"),
  action_type: z.literal("workflow"),
  /** The workflow id, the same as the `workflow_id` path parameter. */
  action_id: optionalNonEmptyString,
  /** Workflow instance id; the bridge's idempotency key. */
  action_instance_id: optionalNonEmptyString,
  playbook_context: z
    .strictObject({
      data_object: z.strictObject({
        /** The data object itself, for alerts the Alert field map. */
        content: contentSchema.optional(),
        dataclass: dataClassRefSchema.optional(),
      }),
    })
    .optional(),
});

/** Body of CreateWorkflowInstance. */
export type CreateWorkflowInstanceRequest = z.infer<typeof createWorkflowInstanceRequestSchema>;

/** Response of CreateWorkflowInstance: the request fields echoed back. */
export const createWorkflowInstanceResponseSchema = z
  .object({
    command_type: nullishString,
    action_type: nullishString,
    action_id: nullishString,
    action_instance_id: nullishString,
    playbook_context: z
      .object({
        data_object: z
          .object({
            content: contentSchema.nullish(),
            dataclass: z.object({ id: nullishString, name: nullishString }).loose().nullish(),
          })
          .loose()
          .nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

/** Response of CreateWorkflowInstance. */
export type CreateWorkflowInstanceResponse = z.infer<typeof createWorkflowInstanceResponseSchema>;

// The schemas below serve ShowWorkflow and ListWorkflowInstances, which the CLI and the tests call
// and dispatch does not, so they are built on first use instead of at every cold start.

/** A workflow (`AopWorkflowInfo`); the fields the bridge reads are listed, others are kept. */
export const workflowInfoSchema = lazily(() =>
  z
    .object({
      id: z.string().min(1),
      name: nullishString,
      description: nullishString,
      enabled: z.boolean().nullish(),
      /** Data class the workflow runs on; copy it into `playbook_context.data_object.dataclass`. */
      dataclass_id: nullishString,
      dataclass_name: nullishString,
      version_id: nullishString,
      aop_type: nullishString,
      engine_type: nullishString,
    })
    .loose(),
);

/** A workflow as ShowWorkflow returns it. */
export type WorkflowInfo = z.infer<ReturnType<typeof workflowInfoSchema>>;

/** Response of ShowWorkflow (`GET …/soc/workflows/{workflow_id}`). */
export const showWorkflowResponseSchema = lazily(() =>
  z
    .object({
      code: nullishString,
      message: nullishString,
      success: z.boolean().nullish(),
      request_id: nullishString,
      data: workflowInfoSchema(),
    })
    .loose(),
);

/** A workflow instance (`AopworkflowInstanceDetail`). */
export const workflowInstanceSchema = lazily(() => {
  const namedRefSchema = z.object({ id: nullishString, name: nullishString, en_name: nullishString }).loose();
  return z.object({
    id: z.string().min(1),
    name: nullishString,
    workflow: z
      .object({
        id: nullishString,
        name: nullishString,
        name_en: nullishString,
        version: nullishString,
        version_id: nullishString,
      })
      .loose()
      .nullish(),
    dataclass: namedRefSchema.nullish(),
    playbook: namedRefSchema.nullish(),
    /** DEBUG, TIMER, EVENT or MANUAL. */
    trigger_type: nullishString,
    /** RUNNING, FAILED, FINISHED, RETRYING, TERMINATING or TERMINATED. */
    status: nullishString,
    start_time: nullishString,
    end_time: nullishString,
    retry_count: z.number().nullish(),
    defense_id: nullishString,
    dataobject_id: nullishString,
  })
  .loose();
});

/** A workflow instance as ListWorkflowInstances returns it. */
export type WorkflowInstance = z.infer<ReturnType<typeof workflowInstanceSchema>>;

/** Response of ListWorkflowInstances (`GET …/soc/workflows/instances`); a missing list reads as empty. */
export const listWorkflowInstancesResponseSchema = lazily(() =>
  z
    .object({
      count: z.number().int().nonnegative(),
      instances: z
        .array(workflowInstanceSchema())
        .nullish()
        .transform((instances) => instances ?? []),
    })
    .loose(),
);

/** Query of ListWorkflowInstances; every filter is optional. */
export const listWorkflowInstancesQuerySchema = lazily(() =>
  z.strictObject({
    offset: z.number().int().nonnegative().optional(),
    limit: z.number().int().positive().optional(),
    sort_key: z.enum(["create_time", "update_time"]).optional(),
    sort_dir: z.enum(["ASC", "DESC"]).optional(),
    from_date: optionalNonEmptyString,
    to_date: optionalNonEmptyString,
    /**
     * Instance id.
     * NOTE: whether SecMaster uses a caller's `action_instance_id` as the instance id is unconfirmed.
     */
    id: optionalNonEmptyString,
    workflow_id: optionalNonEmptyString,
    name: optionalNonEmptyString,
    dataobject_id: optionalNonEmptyString,
    dataclass_id: optionalNonEmptyString,
    playbook_id: optionalNonEmptyString,
    defence_id: optionalNonEmptyString,
    status: optionalNonEmptyString,
    trigger_type: optionalNonEmptyString,
  }),
);

/** Query of ListWorkflowInstances. */
export type ListWorkflowInstancesQuery = z.infer<ReturnType<typeof listWorkflowInstancesQuerySchema>>;
