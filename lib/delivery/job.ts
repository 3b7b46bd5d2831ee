import type { Alert } from "../alert/schema";
import { actionInstanceId } from "../identity";

/**
 * The parts of an alert episode's identity that `actionInstanceId` hashes besides the source and
 * the workflow. A job carries them so that `secmaster-bridge redrive --workflow-id` can derive the
 * id the job would have had with the right workflow.
 */
export interface JobIdentity {
  scope: string;
  key: string;
  episode: string;
}

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
  /**
   * The identity parts the id was derived from, together with `source` and `workflowId`. Jobs
   * queued by earlier versions have none and cannot be re-targeted.
   */
  identity?: JobIdentity;
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

/** The new target of a re-targeted job. A part left out keeps the job's value. */
export interface JobTarget {
  workflowId: string;
  workspaceId?: string | undefined;
  projectId?: string | undefined;
}

/** Reason a job cannot be re-targeted. */
export type RetargetRefusal = "no-identity" | "identity-mismatch";

/**
 * Points a job at another workflow (and optionally workspace and project). The new
 * `actionInstanceId` is the one the bridge derives for the same alert episode and the new
 * workflow, so a later repeat of the episode by its sender maps to the same instance. An Alert
 * `workspace_id` equal to the old workspace follows the new one.
 *
 * @returns the re-targeted job, or the reason it cannot be re-targeted: it has no `identity`
 *   (queued by an earlier version), or its identity does not give back its current id.
 */
export function retargetJob(job: StartJob, target: JobTarget): { ok: true; job: StartJob } | { ok: false; reason: RetargetRefusal } {
  const identity = job.identity;
  if (identity === undefined) return { ok: false, reason: "no-identity" };
  const parts = { source: job.source, scope: identity.scope, key: identity.key, episode: identity.episode };
  if (actionInstanceId({ ...parts, workflowId: job.workflowId }) !== job.actionInstanceId) return { ok: false, reason: "identity-mismatch" };

  const workspaceId = target.workspaceId ?? job.workspaceId;
  const content = job.content.workspace_id === job.workspaceId ? { ...job.content, workspace_id: workspaceId } : job.content;
  return {
    ok: true,
    job: {
      ...job,
      actionInstanceId: actionInstanceId({ ...parts, workflowId: target.workflowId }),
      projectId: target.projectId ?? job.projectId,
      workspaceId,
      workflowId: target.workflowId,
      content,
    },
  };
}
