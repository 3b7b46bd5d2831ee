import * as z from "zod";

// Request schemas are strict so that a misspelt field fails here instead of being dropped by
// SecMaster. Response schemas are loose, and their fields nullish where the service may omit
// them, so that an extra or missing field in a response does not turn a success into a failure.

/** Data class reference of a data object; `name` is required whenever the reference is sent. */
// A JSON object checked without copying it: the Alert content is validated when the alert is
// built, and copying every key of each request and its echo was the largest cost of a start.
const contentSchema = z.custom<Record<string, unknown>>((value) => typeof value === "object" && value !== null && !Array.isArray(value), {
  message: "Invalid input: expected object",
});

export const dataClassRefSchema = z.strictObject({
  id: z.string().min(1).optional(),
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
  action_id: z.string().min(1).optional(),
  /** Workflow instance id; the bridge's idempotency key. */
  action_instance_id: z.string().min(1).optional(),
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
    command_type: z.string().nullish(),
    action_type: z.string().nullish(),
    action_id: z.string().nullish(),
    action_instance_id: z.string().nullish(),
    playbook_context: z
      .object({
        data_object: z
          .object({
            content: contentSchema.nullish(),
            dataclass: z.object({ id: z.string().nullish(), name: z.string().nullish() }).loose().nullish(),
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

/** A workflow (`AopWorkflowInfo`); the fields the bridge reads are listed, others are kept. */
export const workflowInfoSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().nullish(),
    description: z.string().nullish(),
    enabled: z.boolean().nullish(),
    /** Data class the workflow runs on; copy it into `playbook_context.data_object.dataclass`. */
    dataclass_id: z.string().nullish(),
    dataclass_name: z.string().nullish(),
    version_id: z.string().nullish(),
    aop_type: z.string().nullish(),
    engine_type: z.string().nullish(),
  })
  .loose();

/** A workflow as ShowWorkflow returns it. */
export type WorkflowInfo = z.infer<typeof workflowInfoSchema>;

/** Response of ShowWorkflow (`GET …/soc/workflows/{workflow_id}`). */
export const showWorkflowResponseSchema = z
  .object({
    code: z.string().nullish(),
    message: z.string().nullish(),
    success: z.boolean().nullish(),
    request_id: z.string().nullish(),
    data: workflowInfoSchema,
  })
  .loose();

const namedRefSchema = z
  .object({ id: z.string().nullish(), name: z.string().nullish(), en_name: z.string().nullish() })
  .loose();

/** A workflow instance (`AopworkflowInstanceDetail`). */
export const workflowInstanceSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().nullish(),
    workflow: z
      .object({
        id: z.string().nullish(),
        name: z.string().nullish(),
        name_en: z.string().nullish(),
        version: z.string().nullish(),
        version_id: z.string().nullish(),
      })
      .loose()
      .nullish(),
    dataclass: namedRefSchema.nullish(),
    playbook: namedRefSchema.nullish(),
    /** DEBUG, TIMER, EVENT or MANUAL. */
    trigger_type: z.string().nullish(),
    /** RUNNING, FAILED, FINISHED, RETRYING, TERMINATING or TERMINATED. */
    status: z.string().nullish(),
    start_time: z.string().nullish(),
    end_time: z.string().nullish(),
    retry_count: z.number().nullish(),
    defense_id: z.string().nullish(),
    dataobject_id: z.string().nullish(),
  })
  .loose();

/** A workflow instance as ListWorkflowInstances returns it. */
export type WorkflowInstance = z.infer<typeof workflowInstanceSchema>;

/** Response of ListWorkflowInstances (`GET …/soc/workflows/instances`); a missing list reads as empty. */
export const listWorkflowInstancesResponseSchema = z
  .object({
    count: z.number().int().nonnegative(),
    instances: z
      .array(workflowInstanceSchema)
      .nullish()
      .transform((instances) => instances ?? []),
  })
  .loose();

/** Query of ListWorkflowInstances; every filter is optional. */
export const listWorkflowInstancesQuerySchema = z.strictObject({
  offset: z.number().int().nonnegative().optional(),
  limit: z.number().int().positive().optional(),
  sort_key: z.enum(["create_time", "update_time"]).optional(),
  sort_dir: z.enum(["ASC", "DESC"]).optional(),
  from_date: z.string().min(1).optional(),
  to_date: z.string().min(1).optional(),
  /**
   * Instance id.
   * NOTE: whether SecMaster uses a caller's `action_instance_id` as the instance id is unconfirmed.
   */
  id: z.string().min(1).optional(),
  workflow_id: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  dataobject_id: z.string().min(1).optional(),
  dataclass_id: z.string().min(1).optional(),
  playbook_id: z.string().min(1).optional(),
  defence_id: z.string().min(1).optional(),
  status: z.string().min(1).optional(),
  trigger_type: z.string().min(1).optional(),
});

/** Query of ListWorkflowInstances. */
export type ListWorkflowInstancesQuery = z.infer<typeof listWorkflowInstancesQuerySchema>;
