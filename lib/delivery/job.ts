import type { Alert } from "../alert/schema";

/**
 * Everything needed to start one workflow instance for one alert episode. A job is complete on
 * its own, so a dispatcher never fetches anything again.
 */
export interface StartJob {
  /** The idempotency key, derived by `lib/identity.ts`. */
  actionInstanceId: string;
  projectId: string;
  workspaceId: string;
  workflowId: string;
  dataclass: { id?: string; name: string };
  /** Source id and the alert's key in it, for logs only. */
  source: string;
  alertKey: string;
  content: Alert;
}

/** Builds the CreateWorkflowInstance body for a job. */
export function createInstanceBody(job: StartJob) {
  return {
    command_type: "ActionInstanceRunCommand" as const,
    action_type: "workflow" as const,
    action_id: job.workflowId,
    action_instance_id: job.actionInstanceId,
    playbook_context: {
      data_object: {
        content: job.content,
        dataclass: job.dataclass.id === undefined ? { name: job.dataclass.name } : { id: job.dataclass.id, name: job.dataclass.name },
      },
    },
  };
}
